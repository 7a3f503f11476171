// The dashboard's shared classes, defined once in app/globals.css (`@layer components`).
export const inputClass = "field";
export const buttonClass = "btn";
export const secondaryButtonClass = "btn-secondary";
export const dangerButtonClass = "btn-danger";
export const smallButtonClass = "btn-small";
export const alertClass = "alert";
export const errorAlertClass = "alert alert-error";
export const okAlertClass = "alert alert-ok";
