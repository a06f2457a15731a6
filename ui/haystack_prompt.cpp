#include "ui/haystack_prompt.h"

#include <QRegularExpression>
#include <QStringList>

#include <algorithm>

namespace flux::ui {

HaystackPrompt makeHaystackPrompt(int approx_words, double depth, int seed) {
  static const char* kFiller[] = {
      "The grass on the hills turned green again after the long winter rains.",
      "A merchant counted his coins twice before closing the shop for the night.",
      "Rivers in the northern valleys freeze early and thaw late in the spring.",
      "The library kept its oldest maps in a cool room without windows.",
      "Every morning the baker lit the oven before the first light of dawn.",
      "Travellers often stopped at the inn to rest their horses and trade news.",
      "The old clock in the square was wound by hand every Sunday afternoon.",
      "Fishermen mended their nets on the pier while gulls circled overhead.",
  };
  constexpr int kN = int(sizeof(kFiller) / sizeof(kFiller[0]));
  static const char* kCities[] = {"Lisbon", "Osaka", "Quito", "Tallinn", "Nairobi", "Perth", "Bergen", "Cusco"};
  const int code = 1000 + (seed * 7919) % 9000;
  HaystackPrompt p;
  p.answer = QString::number(code);
  p.needle = QStringLiteral("The secret code for the vault in %1 is %2.")
                 .arg(QString::fromLatin1(kCities[std::abs(seed) % 8]), p.answer);
  QStringList sentences;
  int words = 0;
  for (int i = 0; words < approx_words; ++i) {
    const QString s = QString::fromLatin1(kFiller[(i * 5 + seed) % kN]);
    words += int(s.count(QLatin1Char(' '))) + 1;
    sentences << s;
  }
  const int at = int(std::clamp(depth, 0.0, 1.0) * double(sentences.size()) + 0.5);
  sentences.insert(at, p.needle);
  const QString intro = QStringLiteral("Read the following text carefully.\n\n");
  p.text = intro + sentences.join(QLatin1Char(' ')) +
           QStringLiteral("\n\nQuestion: what is the secret code for the vault in %1? Answer with the number only.")
               .arg(QString::fromLatin1(kCities[std::abs(seed) % 8]));
  p.needle_offset = int(p.text.indexOf(p.needle));
  return p;
}

QString haystackAnswer(const QString& prompt) {
  static const QRegularExpression needle(QStringLiteral("The secret code for the vault in \\w+ is (\\d+)\\."));
  return needle.match(prompt).captured(1);
}

}  // namespace flux::ui
