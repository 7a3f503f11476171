import { z } from "zod";
import { AppError } from "@/lib/api/errors";
import { githubConnector } from "./git/github";
import { gitlabConnector } from "./git/gitlab";
import { bitbucketConnector } from "./git/bitbucket";
import { dropboxConnector } from "./dropbox";
import { gdriveConnector } from "./gdrive";
import { localConnector } from "./local";
import { SOURCE_TYPES, type ConnectorDefinition, type SourceType } from "./types";

const CONNECTORS: Partial<Record<SourceType, ConnectorDefinition>> = {
  local: localConnector,
  github: githubConnector,
  gitlab: gitlabConnector,
  bitbucket: bitbucketConnector,
  gdrive: gdriveConnector,
  dropbox: dropboxConnector,
};

/** Filters every source type accepts. */
export const filterConfigSchema = z.object({
  include: z.array(z.string().min(1)).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  languages: z.array(z.string().min(1)).optional(),
  maxFileSize: z.number().int().positive().optional(),
});

export function isSourceType(type: string): type is SourceType {
  return (SOURCE_TYPES as readonly string[]).includes(type);
}

/** The connector for a type; a clear 400 for a type that is unknown or not built yet. */
export function getConnectorDefinition(type: string): ConnectorDefinition {
  if (!isSourceType(type)) {
    throw new AppError("unknown_source_type", `Unknown source type "${type}". Valid types: ${SOURCE_TYPES.join(", ")}.`);
  }
  const definition = CONNECTORS[type];
  if (!definition) {
    const available = SOURCE_TYPES.filter((t) => CONNECTORS[t]);
    throw new AppError(
      "source_type_unavailable",
      `Sources of type "${type}" are not available yet. Available now: ${available.join(", ")}.`,
    );
  }
  return definition;
}
