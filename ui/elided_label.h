// A one-line label that elides its text to the width it gets (full text in the tooltip), so a long line never wraps
// and pushes the widgets below it down.
#pragma once

#include <QLabel>

namespace flux::ui {

class ElidedLabel : public QLabel {
  Q_OBJECT
 public:
  explicit ElidedLabel(QWidget* parent = nullptr);
  void setFullText(const QString& text);
  QString fullText() const { return full_; }
  // Extra tooltip lines shown under the full text.
  void setHint(const QString& hint);

 protected:
  void resizeEvent(QResizeEvent* event) override;
  QSize minimumSizeHint() const override;

 private:
  void refresh();
  QString full_;
  QString hint_;
};

}  // namespace flux::ui
