"use client";

import { useActionState, useState } from "react";
import { addCredentialAction, type AddCredentialState } from "@/app/settings/actions";
import { buttonClass, errorAlertClass, inputClass, okAlertClass } from "./ui";

/** Stores a GitHub/GitLab personal access token or a Bitbucket API token (write-only: never shown back). */
export function AddCredentialForm() {
  const [state, action, pending] = useActionState<AddCredentialState, FormData>(addCredentialAction, {});
  const [provider, setProvider] = useState("github");
  return (
    <form action={action} className="grid gap-3 sm:grid-cols-2">
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Provider</span>
        <select name="provider" value={provider} onChange={(e) => setProvider(e.target.value)} className={inputClass}>
          <option value="github">GitHub personal access token</option>
          <option value="gitlab">GitLab personal access token</option>
          <option value="bitbucket">Bitbucket API token</option>
        </select>
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Label (optional)</span>
        <input name="accountName" maxLength={255} className={inputClass} />
      </label>
      {provider === "bitbucket" && (
        <label className="block text-sm sm:col-span-2">
          <span className="mb-1 block font-medium">Atlassian account email</span>
          <input name="username" type="email" required className={inputClass} />
        </label>
      )}
      <label className="block text-sm sm:col-span-2">
        <span className="mb-1 block font-medium">Token</span>
        <input name="token" type="password" autoComplete="off" required className={inputClass} />
      </label>
      <div className="sm:col-span-2">
        <button type="submit" disabled={pending} className={buttonClass}>
          Save token
        </button>
      </div>
      {state.error && (
        <p role="alert" className={`sm:col-span-2 ${errorAlertClass}`}>
          {state.error}
        </p>
      )}
      {state.ok && (
        <p className={`sm:col-span-2 ${okAlertClass}`}>
          Token saved (encrypted). Use its credential id in a source&apos;s config.
        </p>
      )}
    </form>
  );
}
