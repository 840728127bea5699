// A small client for GraphQL over HTTP and over WebSocket
// (graphql-transport-ws protocol), with the bearer token in both.
"use strict";

class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    const ext = (errors[0] && errors[0].extensions) || {};
    this.code = ext.code || null;
    this.fieldErrors = Array.isArray(ext.errors) ? ext.errors : [];
  }
}

class GraphQLClient {
  constructor(path, getToken, onState) {
    this.path = path;
    this.getToken = getToken;
    this.onState = onState || (() => {});
    this.socket = null;
    this.acked = false;
    this.nextId = 1;
    this.subs = new Map(); // id -> {payload, sink}
    this.retry = 0;
    this.closedByUs = false;
  }

  headers() {
    const h = { "Content-Type": "application/json", Accept: "application/json" };
    const token = this.getToken();
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  async request(query, variables) {
    let response;
    try {
      response = await fetch(this.path, {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify({ query, variables: variables || {} }),
      });
    } catch (err) {
      throw new GraphQLError([{ message: "cannot reach the server", extensions: { code: "NETWORK" } }]);
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (body && body.errors && body.errors.length) throw new GraphQLError(body.errors);
    if (!response.ok || !body) {
      throw new GraphQLError([{ message: "HTTP " + response.status, extensions: { code: "HTTP_" + response.status } }]);
    }
    return body.data;
  }

  // --- subscriptions ------------------------------------------------------
  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    this.subs.set(id, { payload: { query, variables: variables || {} }, sink });
    this.ensureSocket();
    if (this.acked) this.send({ id, type: "subscribe", payload: this.subs.get(id).payload });
    return () => {
      if (this.subs.delete(id) && this.acked) this.send({ id, type: "complete" });
    };
  }

  // Keeps one socket open while the page is, subscriptions or not, so the
  // connection badge says whether live updates would arrive.
  connect() {
    this.ensureSocket();
  }

  reconnect() {
    // after the token changed: start over with the new connection_init
    if (this.socket) { this.closedByUs = true; this.socket.close(); }
    this.socket = null;
    this.acked = false;
    this.ensureSocket();
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  ensureSocket() {
    if (this.socket) return;
    const url = new URL(this.path, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url.toString(), "graphql-transport-ws");
    this.socket = socket;
    this.closedByUs = false;
    this.onState("connecting");
    socket.onopen = () => {
      const token = this.getToken();
      socket.send(JSON.stringify({ type: "connection_init", payload: token ? { Authorization: "Bearer " + token } : {} }));
    };
    socket.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (err) { return; }
      if (msg.type === "connection_ack") {
        this.acked = true;
        this.retry = 0;
        this.onState("live");
        for (const [id, sub] of this.subs) this.send({ id, type: "subscribe", payload: sub.payload });
      } else if (msg.type === "ping") {
        this.send({ type: "pong" });
      } else if (msg.type === "next") {
        const sub = this.subs.get(msg.id);
        if (!sub) return;
        if (msg.payload.errors && msg.payload.errors.length) sub.sink.error && sub.sink.error(new GraphQLError(msg.payload.errors));
        else sub.sink.next(msg.payload.data);
      } else if (msg.type === "error") {
        const sub = this.subs.get(msg.id);
        this.subs.delete(msg.id);
        if (sub && sub.sink.error) sub.sink.error(new GraphQLError(msg.payload));
      } else if (msg.type === "complete") {
        const sub = this.subs.get(msg.id);
        this.subs.delete(msg.id);
        if (sub && sub.sink.complete) sub.sink.complete();
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.acked = false;
      if (event.code === 4403 || event.code === 4401) this.onState("unauthorized");
      else this.onState("offline");
      if (this.closedByUs) return;
      const delay = Math.min(10000, 500 * 2 ** this.retry++);
      setTimeout(() => { if (!this.socket) this.ensureSocket(); }, delay);
    };
  }
}

window.GraphQLClient = GraphQLClient;
window.GraphQLError = GraphQLError;
