/**
 * Public surface of src/log: process-wide logging setup and the line formats.
 * @module
 */
export { configureLogging, type LoggingOptions, ROOT_CATEGORY, writeStderr } from "./setup.ts";
export { formatJsonLine, formatTextLine, renderMessage, renderValue } from "./format.ts";
