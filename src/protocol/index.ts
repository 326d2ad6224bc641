export * from "./errors.js";
export * from "./native.js";
