"use client";

import { useActionState, useState } from "react";
import { createTokenAction, type CreateTokenState } from "@/app/settings/actions";
import { buttonClass, errorAlertClass, inputClass, okAlertClass, secondaryButtonClass } from "./ui";

/** Creates an API token and shows it this once, with a copy button. */
export function NewTokenForm() {
  const [state, action, pending] = useActionState<CreateTokenState, FormData>(createTokenAction, {});
  const [copied, setCopied] = useState(false);
  return (
    <div className="space-y-3">
      <form action={action} className="flex gap-2" onSubmit={() => setCopied(false)}>
        <input
          name="name"
          placeholder="Token name, e.g. search-service"
          required
          maxLength={255}
          className={inputClass}
          aria-label="Token name"
        />
        <button type="submit" disabled={pending} className={buttonClass}>
          Create token
        </button>
      </form>
      {state.error && (
        <p role="alert" className={errorAlertClass}>
          {state.error}
        </p>
      )}
      {state.token && (
        <div className={okAlertClass}>
          <p className="mb-2">
            Token <strong>{state.name}</strong> created. Copy it now: it is not shown again.
          </p>
          <div className="flex items-center gap-2">
            <code className="flex-1 overflow-x-auto rounded bg-white px-2 py-1 font-mono text-xs text-zinc-900 dark:bg-zinc-900 dark:text-zinc-100">
              {state.token}
            </code>
            <button
              type="button"
              className={secondaryButtonClass}
              onClick={() => void navigator.clipboard.writeText(state.token!).then(() => setCopied(true))}
            >
              {copied ? "Copied" : "Copy"}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
