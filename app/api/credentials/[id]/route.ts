import { withApi } from "@/lib/api/with-api";
import { deleteCredential, getCredentialOrThrow, toCredentialDto } from "@/lib/oauth/credentials";
import { credentialIdParams } from "@/lib/oauth/schemas";

type Params = { id: string };

// GET /api/credentials/:id – one credential (no secret)
export const GET = withApi<Params>(async ({ params, actor }) => {
  const { id } = credentialIdParams.parse(params);
  return { credential: toCredentialDto(await getCredentialOrThrow(actor, id)) };
});

// DELETE /api/credentials/:id – forget a credential no source uses
export const DELETE = withApi<Params>(async ({ params, actor }) => {
  const { id } = credentialIdParams.parse(params);
  await deleteCredential(actor, id);
  return new Response(null, { status: 204 });
});
