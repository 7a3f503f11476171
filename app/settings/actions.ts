"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createApiToken, revokeApiTokenById } from "@/lib/auth/api-tokens";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { createTokenCredential, deleteCredential } from "@/lib/oauth/credentials";
import { createCredentialBody } from "@/lib/oauth/schemas";
import { AppError } from "@/lib/api/errors";

// Server actions are POST endpoints of their own: each one checks the session first.

export type CreateTokenState = { token?: string; name?: string; error?: string };

const tokenName = z.string().trim().min(1, "Give the token a name.").max(255, "The name is too long.");

/** The new token comes back once, to be shown once; only its hash is stored. */
export async function createTokenAction(_prev: CreateTokenState, formData: FormData): Promise<CreateTokenState> {
  const user = await requireUser();
  const name = tokenName.safeParse(formData.get("name"));
  if (!name.success) return { error: name.error.issues[0]!.message };
  const token = await createApiToken(name.data, user.id);
  revalidatePath("/settings");
  return { token, name: name.data };
}

export async function revokeTokenAction(formData: FormData): Promise<void> {
  const user = await requireUser();
  const id = z.uuid().safeParse(formData.get("id"));
  if (id.success) await revokeApiTokenById(user.id, id.data);
  revalidatePath("/settings");
}

export type AddCredentialState = { ok?: boolean; error?: string };

export async function addCredentialAction(_prev: AddCredentialState, formData: FormData): Promise<AddCredentialState> {
  const user = await requireUser();
  const optional = (name: string) => {
    const v = formData.get(name);
    return typeof v === "string" && v.trim() !== "" ? v : undefined;
  };
  const body = createCredentialBody.safeParse({
    provider: formData.get("provider"),
    token: formData.get("token"),
    accountName: optional("accountName"),
    username: optional("username"),
  });
  if (!body.success) return { error: body.error.issues.map((i) => i.message).join(" ") };
  await createTokenCredential(actorOf(user), body.data);
  revalidatePath("/settings");
  return { ok: true };
}

export type DeleteCredentialState = { error?: string };

export async function deleteCredentialAction(
  _prev: DeleteCredentialState,
  formData: FormData,
): Promise<DeleteCredentialState> {
  const user = await requireUser();
  const id = z.uuid().safeParse(formData.get("id"));
  if (!id.success) return { error: "Unknown credential." };
  try {
    await deleteCredential(actorOf(user), id.data);
  } catch (err) {
    if (err instanceof AppError) return { error: err.message };
    throw err;
  }
  revalidatePath("/settings");
  return {};
}
