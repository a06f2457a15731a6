// Tools → Needle in a Haystack…: choose the filler length (words, with the token estimate) and the depth at which
// the needle is hidden; the dialog builds the prompt with makeHaystackPrompt and shows the expected answer.
#pragma once

#include <QDialog>

#include "ui/haystack_prompt.h"

class QLabel;
class QSlider;
class QSpinBox;

namespace flux::ui {

class HaystackDialog : public QDialog {
  Q_OBJECT
 public:
  explicit HaystackDialog(QWidget* parent = nullptr);

  void setWords(int words);
  void setDepthPercent(int percent);
  void setSeed(int seed);
  // The prompt for the current settings.
  HaystackPrompt prompt() const;

 private:
  void updateSummary();

  QSpinBox* words_ = nullptr;
  QSlider* depth_ = nullptr;
  QSpinBox* depth_box_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QLabel* summary_ = nullptr;
};

}  // namespace flux::ui
