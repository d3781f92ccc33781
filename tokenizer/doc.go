// Package tokenizer implements MiniMind's byte-level BPE tokenizer so that it
// encodes and decodes exactly like Hugging Face `tokenizers`.
//
// A Tokenizer is read from the two files that Hugging Face writes,
// tokenizer.json (the BPE model: vocabulary, merges, added tokens, the
// ByteLevel pre-tokenizer and decoder) and tokenizer_config.json (bos/eos/pad/
// unk tokens and the Jinja chat template), and can write them back.
//
// Encoding splits added tokens (such as <|im_start|>) out of the text as
// single ids, cuts the rest into words with a hand-written scanner for the
// GPT-2 pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// maps each word's bytes to the 256 ByteLevel symbols and applies the merges
// lowest rank first. Decoding maps the symbols back to bytes and replaces
// invalid UTF-8 the way Rust's String::from_utf8_lossy does. A StreamDecoder
// gives the text of a generation one id at a time without splitting a
// character.
//
// Train learns a new vocabulary from a jsonl corpus with the same algorithm
// and tie-breaking as Hugging Face's BpeTrainer, and ApplyChatTemplate renders
// the chat template (through the jinja sub-package) the way
// @huggingface/jinja does.
package tokenizer
