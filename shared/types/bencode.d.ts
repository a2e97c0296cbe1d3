// Types for the `bencode` package (it ships none).
declare module 'bencode' {
  export type BencodeValue =
    number | string | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue | undefined }
  const bencode: {
    encode(value: unknown, buffer?: Uint8Array, offset?: number): Uint8Array
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): unknown
    decode(data: Uint8Array, encoding: string): unknown
    byteLength(value: unknown): number
    encodingLength(value: unknown): number
  }
  export default bencode
}
