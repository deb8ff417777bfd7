import { InvalidInputError } from '@lxchunk/errors';
import { isAlias, isMap, isScalar, parseDocument, type Document } from 'yaml';
import { normalizeArchitecture } from './architecture.js';

/** 9999-12-31T23:59:59Z, the last instant toIsoUtc can spell. */
const MAX_DATE = 253402300799;

/** Architecture names are short kernel or Debian words; anything else is a broken file. */
const ARCHITECTURE = /^[\x21-\x7e]{1,64}$/;

/** What lxchunk takes from LXD's metadata.yaml. */
export interface MetadataYaml {
  /** LXD's name (x86_64, aarch64, ...): Debian names are mapped to it. */
  readonly architecture: string;
  /** Unix seconds, from `creation_date`. */
  readonly creationDate: number;
  /** Unix seconds, from `expiry_date` when present. */
  readonly expiryDate?: number;
  /** The `properties` map, every value as text. */
  readonly properties: Record<string, string>;
  /**
   * Whether `properties` is a mapping (maybe empty) rather than absent or null: LXD 5.0 then has a
   * map to add upload-time properties to; without one it panics on them (see @lxchunk/lxd).
   */
  readonly hasPropertiesMap: boolean;
}

/**
 * Parses and checks a metadata.yaml. `file` names it in errors. What LXD would refuse at import
 * (no architecture or creation date, a nested value under properties) is refused here, before
 * anything is uploaded.
 */
export function parseMetadataYaml(bytes: Uint8Array, file: string): MetadataYaml {
  const fail = (problem: string, cause?: unknown): never => {
    throw new InvalidInputError(`${file}: metadata.yaml ${problem}`, cause === undefined ? undefined : { cause });
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    return fail('is not valid UTF-8', err);
  }
  // Only the document tree is used, never toJS(): aliases are looked up one level, not expanded,
  // so a "billion laughs" file costs nothing. Duplicate keys are refused, as LXD's Go parser does.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) fail(`is not valid YAML: ${yamlError.message.split('\n')[0]}`, yamlError);
  const top = doc.contents;
  if (!isMap(top)) return fail('must be a YAML mapping at the top level');

  const fields = new Map<string, unknown>();
  for (const item of top.items) {
    const key = scalarText(item.key, doc);
    if (key !== undefined) fields.set(key, item.value);
  }

  const archText = scalarText(fields.get('architecture'), doc);
  if (archText === undefined || archText === '') fail('has no architecture');
  if (!ARCHITECTURE.test(archText as string)) fail(`has an invalid architecture ${JSON.stringify(archText)}`);

  const creationDate = unixSeconds(fields.get('creation_date'), doc);
  if (creationDate === undefined) fail('has no creation_date');
  if (creationDate === 'invalid') fail('has an invalid creation_date: it must be whole unix seconds, from 0 to year 9999');

  const expiry = unixSeconds(fields.get('expiry_date'), doc);
  if (expiry === 'invalid') fail('has an invalid expiry_date: it must be whole unix seconds, from 0 to year 9999');

  const propertiesNode = fields.get('properties');
  const properties = readProperties(propertiesNode, doc, fail);
  return {
    architecture: normalizeArchitecture(archText as string),
    creationDate: creationDate as number,
    ...(expiry === undefined ? {} : { expiryDate: expiry as number }),
    properties,
    hasPropertiesMap: isMap(isAlias(propertiesNode) ? propertiesNode.resolve(doc) : propertiesNode),
  };
}

function readProperties(node: unknown, doc: Document, fail: (problem: string) => never): Record<string, string> {
  const resolved = isAlias(node) ? node.resolve(doc) : node;
  if (resolved === undefined || resolved === null || (isScalar(resolved) && resolved.value === null)) return {};
  if (!isMap(resolved)) return fail('has properties that are not a mapping');
  const entries: [string, string][] = [];
  for (const item of resolved.items) {
    const key = scalarText(item.key, doc);
    if (key === undefined) fail('has a property whose key is not a plain value');
    const value = scalarText(item.value ?? null, doc);
    if (value === undefined) fail(`has property ${JSON.stringify(key)} whose value is a list or mapping, not text`);
    entries.push([key as string, value as string]);
  }
  // fromEntries makes own data properties: a "__proto__" key stays an ordinary key.
  return Object.fromEntries(entries);
}

/**
 * A scalar as text the way LXD's Go YAML parser gives it to a string field: a plain scalar keeps
 * its source spelling (`version: 12.10` is "12.10", not 12.1; `yes` stays "yes"), null is "".
 * Undefined for a list or mapping.
 */
function scalarText(node: unknown, doc: Document): string | undefined {
  if (node === null) return '';
  const resolved = isAlias(node) ? node.resolve(doc) : node;
  if (!isScalar(resolved)) return undefined;
  if (resolved.value === null) return '';
  if (resolved.type === 'PLAIN' && typeof resolved.source === 'string') return resolved.source;
  return String(resolved.value);
}

/** An integer scalar within toIsoUtc's range; undefined when absent or null. */
function unixSeconds(node: unknown, doc: Document): number | 'invalid' | undefined {
  if (node === undefined || node === null) return undefined;
  const resolved = isAlias(node) ? node.resolve(doc) : node;
  if (!isScalar(resolved)) return 'invalid';
  const value = resolved.value;
  if (value === null) return undefined;
  // Quoted numbers are strings, which LXD's int64 field refuses too.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_DATE) return 'invalid';
  return value;
}
