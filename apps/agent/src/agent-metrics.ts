import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly bytesFetched = new Counter({ name: 'lxchunk_agent_bytes_fetched_total', help: 'Bytes received from the chunk server', registers: [this.registry] });
  readonly bytesReused = new Counter({ name: 'lxchunk_agent_bytes_reused_total', help: 'Image bytes taken from local images instead of the network', registers: [this.registry] });
  readonly syncs = new Counter({ name: 'lxchunk_agent_syncs_total', help: 'Alias syncs by action', labelNames: ['action'], registers: [this.registry] });
  readonly failures = new Counter({ name: 'lxchunk_agent_sync_failures_total', help: 'Failed alias syncs by error code', labelNames: ['code'], registers: [this.registry] });
  readonly lastSuccess = new Gauge({ name: 'lxchunk_agent_last_success_timestamp_seconds', help: 'Time of the last successful sync per alias', labelNames: ['alias'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'lxchunk_agent_' });
  }
}
