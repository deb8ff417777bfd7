export { AGENT_DEFAULTS, MANAGED_PROPERTY, SOURCE_PROPERTY, type AgentConfig } from './agent-config.js';
export { agentCacheDir, loadAgentConfig } from './load-agent-config.js';
export { startAgent, syncOnce, type RunningAgent, type SyncOutcome } from './start-agent.js';
export { syncAlias, type SyncAction, type SyncResult } from './alias-sync.js';
export { readStatus, statusPath, type AgentStatus, type AliasStatus } from './agent-status.js';
export { AgentMetrics } from './agent-metrics.js';
