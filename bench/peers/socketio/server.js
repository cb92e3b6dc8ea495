// The Socket.IO peer of magpie-bench (docs/BENCHMARKS.md, Peers): room broadcast without
// persistence, the way a Socket.IO chat server is usually written.
//
//   node server.js [PORT] [HOST]          (defaults: 0, i.e. any free port, on 127.0.0.1)
//
// Prints `socket.io <version> on node <version> listening on ws://HOST:PORT/socket.io/` once bound;
// magpie-bench reads the address from that line. WebSocket transport only (no HTTP long-polling,
// no compression). A client emits `join` with a room name (acknowledged once it is in the room),
// then `msg` events with a string; each `msg` is broadcast to the sender's room with
// `io.to(room).emit`, which includes the sender itself: magpie delivers every message to every
// device of every member, the sender's own connection included (the "echo"), so the Socket.IO
// server does the same amount of delivery work. The payload is passed through untouched; nothing is
// stored, numbered or checked. One process (Node runs JavaScript on one thread): scaling it over
// cores would need the cluster adapter and a broker, which is not "the simplest Socket.IO server".
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const version = require("socket.io/package.json").version;

const port = Number(process.argv[2] || 0);
const host = process.argv[3] || "127.0.0.1";

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
});

io.on("connection", (socket) => {
  let room = null;
  socket.on("join", (name, ack) => {
    room = String(name);
    socket.join(room);
    if (typeof ack === "function") ack("ok");
  });
  socket.on("msg", (payload) => {
    if (room !== null) io.to(room).emit("msg", payload);
  });
});

httpServer.listen(port, host, () => {
  const a = httpServer.address();
  console.log(`socket.io ${version} on node ${process.version} listening on ws://${a.address}:${a.port}/socket.io/`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
