// Package native is MiniMind's native trainer: it streams MiniMind's jsonl
// data sets into a pre-tokenized cache, builds micro-batches (padded or
// packed), and runs the training loop of MiniMind's trainers — AdamW with
// PyTorch semantics, global-norm gradient clipping, gradient accumulation
// and the cosine learning-rate schedule — on any model.TrainEngine, with
// atomic checkpoints and exact resume.
//
// Data. A pretraining line is {"text": "..."}; a sample is
// [bos] + tokens[:max_seq_len-2] + [eos], right-padded with pad (0), with
// labels equal to the ids except at padding (-100). An SFT line is
// {"conversations": [{"role", "content", ...}, ...]}; the chat template is
// rendered, tokenized and cut to max_seq_len, and only the assistant replies
// (the tokens after each "<|im_start|>assistant\n" up to and including the
// following "<|im_end|>\n") carry labels. Lines are tokenized once, with all
// cores, into a cache file keyed by the data file's size and modification
// time, the tokenizer, max_seq_len and the mode; later epochs and runs read
// samples from it with no re-tokenizing. Malformed lines are skipped and
// reported with their line numbers, or stop the run in strict mode.
//
// Training. Trainer.MicroStep runs forward and backward on one micro-batch
// with the loss scaled by 1/accumulation_steps and steps the optimizer every
// accumulation_steps micro-batches; Run drives whole epochs with MiniMind's
// schedule lr(t) = lr·(0.1 + 0.45·(1 + cos(π·t/T))), t = epoch·iters + step
// (step counting from 1), T = epochs·iters, a leftover partial accumulation
// stepping the optimizer at the end of each epoch. Per-epoch shuffles are
// seeded by (seed, epoch), so a run resumed from a resume checkpoint
// (weights, AdamW moments, position, loss history) continues with exactly
// the losses of an uninterrupted run.
//
// Our additions to MiniMind: packing (several documents per row, attention
// and positions restarting per document), an optional linear warm-up, the
// cache, and strict/lenient handling of bad lines. In SFT samples whose
// final assistant reply is cut by max_seq_len, MiniMind's mask runs on into
// the padding; ours stops at the last real token, so padding never carries
// a label.
package native
