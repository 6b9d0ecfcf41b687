export { createGateway } from './gatewayService';
export { readGatewayConfig } from './config';
export type { GatewayConfig } from './config';
