/**
 * tunebook: curate data, fine-tune with LoRA, quantize to GGUF, evaluate and serve LLMs,
 * from Jupyter notebooks on the Deno kernel or from `deno task …`.
 *
 * This module is the public surface; everything a notebook or CLI uses is exported here.
 * @module
 */
export * from "./data/synthetic.ts";
export * from "./data/jsonl.ts";
export * from "./data/load.ts";
export * from "./data/examples.ts";
export * from "./data/clean.ts";
export * from "./data/dedup.ts";
export * from "./data/minhash.ts";
export * from "./data/near_dup.ts";
export * from "./data/decontaminate.ts";
export * from "./data/benchmarks.ts";
export * from "./data/token_length.ts";
export * from "./data/trainer_format.ts";
export * from "./data/split.ts";
export * from "./data/report.ts";
export * from "./data/curate.ts";
export * from "./hub/mod.ts";
export * from "./llm/model.ts";
export * from "./llm/gguf_header.ts";
export * from "./llm/tokenizer.ts";
export * from "./llm/quantize_gguf.ts";
export * from "./llm/engine.ts";
export * from "./llm/lora_spec.ts";
export * from "./llm/batching.ts";
export * from "./llm/chat.ts";
export * from "./llm/batch_scorer.ts";
export * from "./llm/batch_generator.ts";
export * from "./llm/sequence_pool.ts";
export * from "./llm/sampled_stream.ts";
export * from "./eval/task/mod.ts";
export * from "./eval/benchmark_items.ts";
export * from "./eval/metrics/mod.ts";
export * from "./eval/score_file.ts";
export * from "./eval/stats.ts";
export * from "./eval/backend.ts";
export * from "./eval/runner.ts";
export * from "./eval/table.ts";
export * from "./util/progress.ts";
export * from "./util/file_hash.ts";
export * from "./util/file_type.ts";
export * from "./eval/openai_backend.ts";
export * from "./eval/compare.ts";
export * from "./eval/p_value.ts";
export * from "./train/python.ts";
export * from "./train/config.ts";
export * from "./train/bridge.ts";
export * from "./train/data.ts";
export * from "./train/colab.ts";
export * from "./train/artifacts.ts";
export * from "./gguf/inspect.ts";
export * from "./gguf/quantize.ts";
export * from "./plots/mod.ts";
export * from "./notebook/mod.ts";
export * from "./serve/mod.ts";
export * from "./view/mod.ts";
