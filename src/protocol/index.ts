export * from "./errors.js";
export * from "./native.js";
export * from "./traces.js";
