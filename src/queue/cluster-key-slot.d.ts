/** The slot Redis Cluster hashes a key to (the package ships no types). */
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string): number;
}
