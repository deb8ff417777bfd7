export interface BarSeries {
  readonly name: string;
  readonly color: string;
}

export interface BarGroup {
  readonly label: string;
  /** One value per series, same order as `series`; null = not measured (draw nothing, write "n/a"). */
  readonly values: readonly (number | null)[];
}

export interface BarChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  /** Axis label, e.g. "bytes fetched, % of the new image". */
  readonly yLabel: string;
  readonly series: readonly BarSeries[];
  readonly groups: readonly BarGroup[];
  /** Formats a value for the label printed at each bar's end, e.g. v => `${v.toFixed(1)}%`. */
  readonly format: (value: number) => string;
}

const PLOT_HEIGHT = 320;
const BAR_WIDTH = 20;
const GROUP_GAP = 28;
const VALUE_FONT = 10;
const LABEL_FONT = 12;
const LABEL_ANGLE_DEG = 40;
/** No text measurement in plain string building, so estimate: sans-serif glyphs average ~0.6em. */
const textWidth = (text: string, fontSize: number): number => text.length * fontSize * 0.6;
/** One decimal is plenty for pixels and keeps the output readable. */
const px = (n: number): string => String(Math.round(n * 10) / 10);

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** 0..max in 4-6 round steps (1, 2 or 5 times a power of ten); max <= 0 (no data) still yields a usable 0..1 axis. */
export function niceTicks(max: number): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 0.25, 0.5, 0.75, 1];
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= rough) ?? 10) * magnitude;
  const count = Math.ceil(max / step - 1e-9);
  // toPrecision strips float noise such as 0.30000000000000004.
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

export function renderBarChartSvg(spec: BarChartSpec): string {
  const valueAt = (group: BarGroup, s: number): number | null => {
    const value = group.values[s];
    return value === undefined || value === null || !Number.isFinite(value) ? null : value;
  };
  const measured = spec.groups.flatMap((g) => spec.series.map((_, s) => valueAt(g, s))).filter((v) => v !== null);
  const valueLabels = measured.map((v) => spec.format(v));

  // Value labels wider than a bar stand upright, so neighbours never overlap and width stays modest.
  const longestValue = Math.max(0, ...valueLabels.map((l) => textWidth(l, VALUE_FONT)));
  const rotateValues = longestValue + 2 > BAR_WIDTH;
  const groupWidth = Math.max(1, spec.series.length) * BAR_WIDTH + GROUP_GAP;
  const longestLabel = Math.max(0, ...spec.groups.map((g) => textWidth(g.label, LABEL_FONT)));
  const rotateLabels = longestLabel > groupWidth - 6;
  const angle = (LABEL_ANGLE_DEG * Math.PI) / 180;
  // Rotated labels hang down-left from their group centre: reserve room below and to the left.
  const labelDrop = rotateLabels ? longestLabel * Math.sin(angle) + 20 : 24;
  const labelLeftReach = rotateLabels ? longestLabel * Math.cos(angle) - groupWidth / 2 : 0;

  const ticks = niceTicks(Math.max(0, ...measured));
  const axisMax = ticks[ticks.length - 1] ?? 1;
  const tickLabels = ticks.map((t) => String(t));
  const marginLeft = Math.max(60 + Math.max(...tickLabels.map((l) => textWidth(l, 11))), labelLeftReach + 10);
  const legendWidth = spec.series.reduce((sum, s) => sum + 30 + textWidth(s.name, LABEL_FONT), 0);
  const titleWidth = Math.max(textWidth(spec.title, 16), textWidth(spec.subtitle ?? '', LABEL_FONT));
  const groupsWidth = spec.groups.length * groupWidth;
  const width = Math.max(marginLeft + Math.max(groupsWidth, 200) + 20, legendWidth + 40, titleWidth + 40);
  // The plot fills whatever the title or legend forced; the groups sit centred in it.
  const plotWidth = width - marginLeft - 20;
  const groupsLeft = marginLeft + (plotWidth - groupsWidth) / 2;
  const legendY = spec.subtitle === undefined ? 52 : 72;
  // Headroom so the tallest bar's label clears the legend.
  const plotTop = legendY + 22 + (rotateValues ? longestValue : 12);
  const plotBottom = plotTop + PLOT_HEIGHT;
  const height = plotBottom + labelDrop + 10;
  const yOf = (value: number): number => plotBottom - (Math.max(0, value) / axisMax) * PLOT_HEIGHT;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="sans-serif">`,
    `<rect x="0" y="0" width="${px(width)}" height="${px(height)}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="16" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  if (spec.subtitle !== undefined) {
    out.push(`<text x="20" y="50" font-size="${LABEL_FONT}" fill="#555555">${escapeXml(spec.subtitle)}</text>`);
  }

  let legendX = 20;
  for (const s of spec.series) {
    out.push(
      `<rect x="${px(legendX)}" y="${legendY - 10}" width="12" height="12" fill="${escapeXml(s.color)}"/>`,
      `<text x="${px(legendX + 18)}" y="${legendY}" font-size="${LABEL_FONT}">${escapeXml(s.name)}</text>`,
    );
    legendX += 30 + textWidth(s.name, LABEL_FONT);
  }

  ticks.forEach((tick, i) => {
    const y = px(yOf(tick));
    out.push(
      `<line x1="${px(marginLeft)}" y1="${y}" x2="${px(marginLeft + plotWidth)}" y2="${y}" stroke="${i === 0 ? '#333333' : '#dddddd'}"/>`,
      `<text x="${px(marginLeft - 6)}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabels[i] ?? '')}</text>`,
    );
  });
  const yLabelY = px(plotTop + PLOT_HEIGHT / 2);
  out.push(
    `<text x="18" y="${yLabelY}" font-size="${LABEL_FONT}" text-anchor="middle" transform="rotate(-90 18 ${yLabelY})">${escapeXml(spec.yLabel)}</text>`,
  );

  spec.groups.forEach((group, g) => {
    const groupLeft = groupsLeft + g * groupWidth + GROUP_GAP / 2;
    spec.series.forEach((s, i) => {
      const value = valueAt(group, i);
      const x = groupLeft + i * BAR_WIDTH;
      const centre = px(x + BAR_WIDTH / 2);
      if (value === null) {
        out.push(`<text x="${centre}" y="${px(plotBottom - 4)}" font-size="${VALUE_FONT}" text-anchor="middle" fill="#888888">n/a</text>`);
        return;
      }
      const top = yOf(value);
      const labelY = px(top - 4);
      const placement = rotateValues
        ? `dominant-baseline="middle" transform="rotate(-90 ${centre} ${labelY})"`
        : 'text-anchor="middle"';
      out.push(
        `<rect x="${px(x + 1)}" y="${px(top)}" width="${px(BAR_WIDTH - 2)}" height="${px(plotBottom - top)}" fill="${escapeXml(s.color)}"/>`,
        `<text x="${centre}" y="${labelY}" font-size="${VALUE_FONT}" ${placement}>${escapeXml(spec.format(value))}</text>`,
      );
    });
    const labelX = px(groupLeft + (groupWidth - GROUP_GAP) / 2);
    const labelY = px(plotBottom + 16);
    out.push(
      rotateLabels
        ? `<text x="${labelX}" y="${labelY}" font-size="${LABEL_FONT}" text-anchor="end" transform="rotate(-${LABEL_ANGLE_DEG} ${labelX} ${labelY})">${escapeXml(group.label)}</text>`
        : `<text x="${labelX}" y="${labelY}" font-size="${LABEL_FONT}" text-anchor="middle">${escapeXml(group.label)}</text>`,
    );
  });

  out.push('</svg>');
  return out.join('\n') + '\n';
}
