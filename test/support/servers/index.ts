export { startFaultProxy, type FaultKind, type FaultProxy, type FaultProxyOptions, type FaultProxyStats, type RequestVerdict } from './fault-proxy.js';
export { CACHE_CREDENTIALS, CACHE_SERVER_DIR, shippedCacheServerConfig, startFleetCacheServer, startShippedCacheServer, type FleetCacheServer } from './fleet-cache-server.js';
export { NGINX, startNginxCache, type NginxCacheHandle, type NginxCacheOptions } from './nginx.js';
export { PROXY_SOURCE_ADDRESS, startForwardProxy, TINYPROXY, type ForwardProxy, type ProxiedRequest } from './forward-proxy.js';
export { freePort, nonLoopbackAddress, waitForPort } from './ports.js';
export { startS3rver, type S3rverHandle } from './s3rver.js';
export { generatedStream, sha256OfFile, sha256OfUrl, type GeneratedStream } from './generated-stream.js';
