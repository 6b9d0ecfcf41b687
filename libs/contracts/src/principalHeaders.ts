/**
 * Who sent an event, as it travels with it. The gateway authenticates an API key and names it by its
 * principal (`key:<first 12 hex of the key's SHA-256>`); the aggregator records that principal as the
 * creator of each series the event creates, and the gateway counts live series per principal for
 * its series quotas (API_KEY_MAX_SERIES). Events written to Kafka without the header (kcat, another
 * client) have no principal and count only against AGG_MAX_SERIES. Anyone allowed to write an event
 * topic can set the header, so Kafka's ACLs decide who may claim a principal (docs/deploy.md).
 */

/** Kafka record header holding the principal of a metric event (`key:1a2b3c4d5e6f`). */
export const PRINCIPAL_HEADER = 'pipeline-principal';

/**
 * HTTP headers the gateway sends ingest with a forwarded POST /v1/events: the caller's principal and
 * its series quota (a positive integer; absent: none). Ingest trusts them as it trusts its caller
 * (INTERNAL_TOKEN_FILE: only the gateway gets in); the gateway never forwards a client's own.
 */
export const HTTP_PRINCIPAL_HEADER = 'x-pipeline-principal';
export const HTTP_SERIES_QUOTA_HEADER = 'x-pipeline-series-quota';
