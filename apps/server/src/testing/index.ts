export { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';
export { createDatabase, freshDatabaseUrl } from './fresh-database.js';
