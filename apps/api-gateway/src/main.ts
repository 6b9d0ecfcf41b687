import { runMain } from '@pipeline/service-runtime';
import { readGatewayConfig } from './config';
import { createGateway } from './gatewayService';

void runMain(createGateway, () => readGatewayConfig(process.env));
