export type { Accumulator } from './Accumulator';
