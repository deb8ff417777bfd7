import pg from 'pg';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * One dedicated connection (not from the pool: LISTEN belongs to a session) that runs LISTEN on a
 * channel and calls the listeners on every notification. When the connection drops it reconnects,
 * backing off, until closed, and then calls the listeners once: notifications sent meanwhile are lost.
 */
export class PgChangeListener {
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | undefined;
  private started = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private listening!: () => void;
  private readonly listeningOnce = new Promise<void>((resolve) => (this.listening = resolve));

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
  ) {}

  /** Starts listening with the first listener. Returns the unsubscribe function. */
  add(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.started && !this.closed) {
      this.started = true;
      void this.connect(false);
    }
    return () => this.listeners.delete(listener);
  }

  /** Resolves once LISTEN has first taken effect (or on close): changes committed after that are heard. */
  ready(): Promise<void> {
    return this.listeningOnce;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening();
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(reconnected: boolean): Promise<void> {
    const client = new pg.Client(this.config);
    let gone = false;
    const lost = (): void => {
      if (gone) return;
      gone = true;
      client.end().catch(() => undefined);
      if (this.client === client) this.client = undefined;
      this.retry();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.announce();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch {
      lost();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = RETRY_MIN_MS;
    this.listening();
    if (reconnected) this.announce();
  }

  private retry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect(true);
    }, delay);
  }

  private announce(): void {
    for (const listener of this.listeners) listener();
  }
}
