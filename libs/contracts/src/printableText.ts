/**
 * JSON Schema `pattern` of names and labels: well-formed text without control characters — no C0
 * (U+0000–U+001F) or C1 (U+007F–U+009F) controls and no unpaired UTF-16 surrogates (what a `"\ud800"`
 * escape decodes to; it has no UTF-8 encoding, so Kafka and logs would get U+FFFD instead). Surrogate
 * pairs (emoji, …) are fine. Invalid UTF-8 bytes in a request body are refused by the body parser.
 */
export const PRINTABLE_TEXT_PATTERN = '^(?:[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$';

/** What a value that fails `PRINTABLE_TEXT_PATTERN` is told (the schemas' `errorMessage`). */
export const PRINTABLE_TEXT_ERROR = 'must not contain control characters or invalid UTF-8';
