package proto

// ProtoVersion is the wire protocol version; peers with different versions
// refuse each other in the handshake.
const ProtoVersion = 4

// Version is the dist release.
const Version = "0.1.0"
