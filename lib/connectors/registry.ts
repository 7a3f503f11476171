import { UnknownSourceTypeError } from "./errors";
import { githubConnector } from "./git/github";
import { gitlabConnector } from "./git/gitlab";
import { bitbucketConnector } from "./git/bitbucket";
import { dropboxConnector } from "./dropbox";
import { gdriveConnector } from "./gdrive";
import { localConnector } from "./local";
import { SOURCE_TYPES, type ConnectorDefinition, type SourceType } from "./types";

/** Every type of the design has its connector (the type makes a missing one a compile error). */
const CONNECTORS: Record<SourceType, ConnectorDefinition> = {
  local: localConnector,
  github: githubConnector,
  gitlab: gitlabConnector,
  bitbucket: bitbucketConnector,
  gdrive: gdriveConnector,
  dropbox: dropboxConnector,
};

export function isSourceType(type: string): type is SourceType {
  return (SOURCE_TYPES as readonly string[]).includes(type);
}

/** The connector for a type; an UnknownSourceTypeError naming the valid types for an unknown one. */
export function getConnectorDefinition(type: string): ConnectorDefinition {
  if (!isSourceType(type)) throw new UnknownSourceTypeError(type, SOURCE_TYPES);
  return CONNECTORS[type];
}
