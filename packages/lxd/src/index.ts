export { LxdClient, defaultSocketPaths, type LxdConnectOptions, type LxdImageInfo, type LxdImportOptions } from './lxd-client.js';
