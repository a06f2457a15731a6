// The output pane: generated text appended token by token (no re-layout of the whole document), remembering where
// each token's text lies so that hovering shows its boundary (highlighted) and its id, text and decode time.
#pragma once

#include <QPlainTextEdit>
#include <QStringDecoder>

#include <vector>

#include "engine/runtime/run_report.h"

namespace flux::ui {

class TokenOutputView : public QPlainTextEdit {
  Q_OBJECT
 public:
  struct Span {
    int start = 0;   // character offset in the document
    int length = 0;  // 0 for a token that only completes a multi-byte character later
    engine::TokenReport token;
  };

  explicit TokenOutputView(QWidget* parent = nullptr);

  void clearTokens();
  void appendToken(const engine::TokenReport& token);
  // Shows a finished run: its tokens when they add up to the output text, else the text without boundaries.
  void showRun(const engine::RunReport& report);

  const std::vector<Span>& spans() const { return spans_; }
  // The token covering a character offset, -1 if none.
  int tokenAt(int offset) const;
  // What hovering over token `i` shows.
  QString tokenToolTip(int i) const;
  // The token under the mouse, highlighted (-1: none).
  int hoveredToken() const { return hovered_; }
  // Highlights token i as hovering does (-1 clears).
  void highlightToken(int i);

 protected:
  bool viewportEvent(QEvent* event) override;

 private:
  std::vector<Span> spans_;
  QStringDecoder utf8_{QStringDecoder::Utf8};
  int length_ = 0;
  int hovered_ = -1;
};

}  // namespace flux::ui
