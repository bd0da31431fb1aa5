/**
 * zod schemas of the TOML configuration, one section per role; the single source of config types.
 * The sections live in relay_schema.ts and dialer_schema.ts, their building blocks in
 * schema_fields.ts; this file is their face and the whole file's schema. Pure: no I/O. Every key
 * and default is documented in config.example.toml.
 * @module
 */
import { z } from "zod";
import { LogSection } from "./schema_fields.ts";
import {
  AcmeSection,
  AdminSection,
  IntermediateSection,
  OidcSection,
  RelayLimits,
} from "./relay_schema.ts";
import {
  ClientForward,
  ClientLogin,
  ClientSection,
  ConnectorSection,
  ConnectorService,
  RelayTarget,
} from "./dialer_schema.ts";

export * from "./schema_fields.ts";
export * from "./relay_schema.ts";
export * from "./dialer_schema.ts";
// The wire's vocabulary lives in protocol/; config re-exports it for TOML-facing code.
export { SERVICE_ID_PATTERN, ServiceId, TransportProtocol } from "../protocol/service_id.ts";

/** The whole file: every section optional here; the chosen role requires its own. */
export const ConfigFile = z.strictObject({
  log: LogSection.default(LogSection.parse({})),
  intermediate: IntermediateSection.optional(),
  connector: ConnectorSection.optional(),
  client: ClientSection.optional(),
});

export type LogConfig = z.output<typeof LogSection>;
export type RelayLimitsConfig = z.output<typeof RelayLimits>;
export type IntermediateConfig = z.output<typeof IntermediateSection>;
export type AdminConfig = z.output<typeof AdminSection>;
export type AcmeConfig = z.output<typeof AcmeSection>;
export type OidcConfig = z.output<typeof OidcSection>;
export type ClientLoginConfig = z.output<typeof ClientLogin>;
export type RelayTargetConfig = z.output<typeof RelayTarget>;
export type ConnectorConfig = z.output<typeof ConnectorSection>;
export type ConnectorServiceConfig = z.output<typeof ConnectorService>;
export type ClientConfig = z.output<typeof ClientSection>;
export type ClientForwardConfig = z.output<typeof ClientForward>;
export type ConfigFileConfig = z.output<typeof ConfigFile>;

/** The roles the binary can run as. */
export const Role = z.enum(["intermediate", "connector", "client"]);
export type Role = z.infer<typeof Role>;
