/**
 * Request and response classes for node:http whose objects are born with Express's prototypes.
 *
 * Express gives every request and response its own prototypes as it starts handling them
 * (`Object.setPrototypeOf(req, app.request)` in `app.handle`). Swapping the prototype of a live object gives it a new
 * hidden class in V8, so every property read on it, in Node's HTTP code and in every middleware, misses the caches
 * those sites had built for the object it was born as. V8 skips a `setPrototypeOf` to the prototype an object already
 * has, so objects made with these classes keep the shape they were born with. Measured with a minimal Express proxy
 * in front of a streaming upstream (bench/routing-overhead.ts, a copy of its bare proxy in Express), alternating in
 * one session: 0.2-0.3 ms less added time to first token, most of what Express itself added.
 */
import http from "node:http";
import type { Express } from "express";

interface ServerClasses {
  IncomingMessage: typeof http.IncomingMessage;
  ServerResponse: typeof http.ServerResponse;
}

/**
 * Options for `http.createServer`: requests and responses born as `app`'s; none (Express as usual) on a Node whose
 * request and response are classes, which cannot be called on an object made here.
 */
export function expressBornObjects(app: Express): Partial<ServerClasses> {
  if (isClass(http.IncomingMessage) || isClass(http.ServerResponse)) return {};
  // Function constructors calling Node's, as Node's own do: a class cannot be given an existing object as its
  // prototype. (`Reflect.construct` would work with classes too, but measured 0.5 ms slower per request than this
  // form, in two runs: its objects do not get the fast shape.)
  function ExpressRequest(this: http.IncomingMessage, ...args: ConstructorParameters<typeof http.IncomingMessage>) {
    http.IncomingMessage.apply(this, args);
  }
  ExpressRequest.prototype = app.request;
  function ExpressResponse(this: http.ServerResponse, ...args: ConstructorParameters<typeof http.ServerResponse>) {
    http.ServerResponse.apply(this, args);
  }
  ExpressResponse.prototype = app.response;
  return {
    IncomingMessage: ExpressRequest as unknown as typeof http.IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof http.ServerResponse,
  };
}

function isClass(fn: unknown): boolean {
  return typeof fn === "function" && Function.prototype.toString.call(fn).startsWith("class");
}
