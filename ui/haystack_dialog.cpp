#include "ui/haystack_dialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>

namespace flux::ui {

HaystackDialog::HaystackDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Needle in a Haystack"));
  words_ = new QSpinBox();
  words_->setRange(50, 200'000);
  words_->setSingleStep(500);
  words_->setValue(1500);
  words_->setSuffix(tr(" words"));
  words_->setToolTip(tr("Length of the filler text; English BPE needs about 1.3 tokens per word"));
  depth_ = new QSlider(Qt::Horizontal);
  depth_->setRange(0, 100);
  depth_->setValue(50);
  depth_->setToolTip(tr("Where the needle sits: 0% = the start of the text, 100% = right before the question"));
  depth_box_ = new QSpinBox();
  depth_box_->setRange(0, 100);
  depth_box_->setValue(50);
  depth_box_->setSuffix(QStringLiteral(" %"));
  depth_box_->setToolTip(depth_->toolTip());
  connect(depth_, &QSlider::valueChanged, depth_box_, &QSpinBox::setValue);
  connect(depth_box_, &QSpinBox::valueChanged, depth_, &QSlider::setValue);
  seed_ = new QSpinBox();
  seed_->setRange(1, 9999);
  seed_->setValue(1);
  seed_->setToolTip(tr("Picks the city and the secret code, so that several prompts differ"));
  summary_ = new QLabel();
  summary_->setWordWrap(true);
  auto* depth_row = new QHBoxLayout();
  depth_row->addWidget(depth_, 1);
  depth_row->addWidget(depth_box_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Use as Prompt"));
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* form = new QFormLayout(this);
  form->addRow(tr("Length"), words_);
  form->addRow(tr("Needle depth"), depth_row);
  form->addRow(tr("Seed"), seed_);
  form->addRow(summary_);
  form->addRow(buttons);
  for (QSpinBox* box : {words_, depth_box_, seed_})
    connect(box, &QSpinBox::valueChanged, this, &HaystackDialog::updateSummary);
  updateSummary();
}

void HaystackDialog::setWords(int words) {
  words_->setValue(words);
}
void HaystackDialog::setDepthPercent(int percent) {
  depth_box_->setValue(percent);
}
void HaystackDialog::setSeed(int seed) {
  seed_->setValue(seed);
}

HaystackPrompt HaystackDialog::prompt() const {
  return makeHaystackPrompt(words_->value(), depth_box_->value() / 100.0, seed_->value());
}

void HaystackDialog::updateSummary() {
  summary_->setText(tr("About %1 tokens. The question asks for a 4-digit code hidden at %2% depth; the expected "
                       "answer is shown in the status bar.")
                        .arg(int(words_->value() * 1.3))
                        .arg(depth_box_->value()));
}

}  // namespace flux::ui
