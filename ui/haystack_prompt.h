// Needle-in-a-haystack prompts for long-context checks: deterministic filler text with one "needle" fact placed at a
// chosen depth, followed by the question that retrieves it.
#pragma once

#include <QString>

namespace flux::ui {

struct HaystackPrompt {
  QString text;
  QString needle;         // the sentence hidden in the filler
  QString answer;         // what a correct reply contains
  int needle_offset = 0;  // character offset of the needle in text
};

// approx_words: filler length in words (~1.3 tokens per word for English BPE); depth in [0, 1]: 0 = start, 1 = end.
HaystackPrompt makeHaystackPrompt(int approx_words, double depth, int seed = 1);
// The answer a prompt of makeHaystackPrompt carries (the needle's code), empty when the text holds no needle: how
// a run of a needle prompt is scored pass / fail later (the comparison's baselines).
QString haystackAnswer(const QString& prompt);

}  // namespace flux::ui
