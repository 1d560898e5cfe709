export { loadGatewayConfig, gatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './config.js';
export { startGateway, type Gateway, type StartOptions } from './gateway.js';
export { addDevice, revokeDevice, listDevices, DeviceRegistry, type DeviceListing } from './registry.js';
export { GatewayConfigError, RegistryError, AuthorizationError, BridgeError } from './errors.js';
export { GatewayMetrics } from './metrics.js';
export { GATEWAY_NODE_FLAGS } from './node-flags.js';
