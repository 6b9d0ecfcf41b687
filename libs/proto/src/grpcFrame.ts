/**
 * One gRPC length-prefixed message (gRPC over HTTP/2 spec): a flag byte (0 = not compressed), the
 * message length as 4 bytes big-endian, then the message. What both ends of a unary call send.
 */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}
