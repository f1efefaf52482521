/**
 * "Did you mean …": the closest known name by edit distance, only when it is a plausible typo.
 */
import { equal } from "node:assert/strict";
import { closestName, editDistance } from "../../lib/util/suggest.ts";

Deno.test("editDistance counts insertions, deletions and substitutions", () => {
  equal(editDistance("kitten", "sitting"), 3);
  equal(editDistance("", ""), 0);
  equal(editDistance("abc", ""), 3);
  equal(editDistance("", "abc"), 3);
  equal(editDistance("flaw", "lawn"), 2);
  equal(editDistance("same", "same"), 0);
  equal(editDistance("ab", "ba"), 2); // a transposition is two edits (Levenshtein, not Damerau)
});

Deno.test("closestName suggests typos and nothing for unrelated names", () => {
  const keys = ["num_fewshot", "fewshot_seed", "fewshot_split", "test_split"];
  equal(closestName("num_fewshots", keys), "num_fewshot");
  equal(closestName("fewshot_sed", keys), "fewshot_seed");
  equal(closestName("dataset_path", keys), undefined);
  equal(closestName("anything", []), undefined);
  // Case is ignored unless asked for.
  equal(closestName("ROUGE1", ["rouge1", "rouge2"]), "rouge1");
  equal(closestName("AB", ["ab"], { ignoreCase: false, minDistance: 1 }), undefined);
  // Ties go to the earlier candidate.
  equal(closestName("rouge", ["rouge1", "rouge2"]), "rouge1");
});

Deno.test("closestName: short names allow 2 edits, long names about a third of their length", () => {
  equal(closestName("bleu", ["xyeu"]), "xyeu"); // 2 edits, within the minimum
  equal(closestName("bleu", ["xyzu"]), undefined); // 3 edits on 4 letters
  // 12 letters: floor(12 × 0.34) = 4 edits allowed, 5 are not.
  equal(closestName("abcdefghijkl", ["abcdefghWXYZ"]), "abcdefghWXYZ");
  equal(closestName("abcdefghijkl", ["abcdefgVWXYZ"]), undefined);
  // The limits are options.
  equal(closestName("bleu", ["xyzu"], { minDistance: 3 }), "xyzu");
  equal(closestName("abcdefghijkl", ["abcdefgVWXYZ"], { maxFraction: 0.5 }), "abcdefgVWXYZ");
});
