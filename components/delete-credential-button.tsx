"use client";

import { useActionState } from "react";
import { deleteCredentialAction, type DeleteCredentialState } from "@/app/settings/actions";
import { dangerButtonClass } from "./ui";

export function DeleteCredentialButton({ id }: { id: string }) {
  const [state, action, pending] = useActionState<DeleteCredentialState, FormData>(deleteCredentialAction, {});
  return (
    <form action={action} className="flex flex-col items-end gap-1">
      <input type="hidden" name="id" value={id} />
      <button type="submit" disabled={pending} className={dangerButtonClass}>
        Remove
      </button>
      {state.error && <span className="max-w-xs text-right text-xs text-red-700 dark:text-red-400">{state.error}</span>}
    </form>
  );
}
