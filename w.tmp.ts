import { makeWorld } from "./lib/data/synthetic/world.ts";
const w = makeWorld();
Deno.writeTextFileSync("/tmp/world.json", JSON.stringify({ people: w.people, kinds: w.kinds }));
