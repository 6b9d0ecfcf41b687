declare module 'swagger-ui-dist' {
  /** Folder holding swagger-ui's static assets. */
  export function absolutePath(): string;
}
