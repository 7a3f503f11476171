import { withWebhook } from "@/lib/api/with-webhook";
import { receiveGitWebhook } from "@/lib/webhooks/receive-git-webhook";

// POST /api/webhooks/gitlab – a signed push from GitLab: verified, recorded, an incremental sync queued
export const POST = withWebhook("gitlab", (request) => receiveGitWebhook("gitlab", request));
