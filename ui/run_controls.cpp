#include "ui/run_controls.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace flux::ui {

RunControls::RunControls(QWidget* parent) : QWidget(parent) {
  max_tokens_ = new QSpinBox();
  max_tokens_->setRange(0, 8192);
  max_tokens_->setValue(128);
  max_tokens_->setToolTip(tr("Tokens to generate after the prompt (-n)"));
  temperature_ = new QDoubleSpinBox();
  temperature_->setRange(0.0, 5.0);
  temperature_->setSingleStep(0.1);
  temperature_->setToolTip(tr("Sampling temperature; 0 = greedy (--temp)"));
  top_k_ = new QSpinBox();
  top_k_->setRange(0, 100000);
  top_k_->setValue(40);
  top_k_->setToolTip(tr("Keep the k most likely tokens; 0 = off (--top-k)"));
  top_p_ = new QDoubleSpinBox();
  top_p_->setRange(0.01, 1.0);
  top_p_->setSingleStep(0.05);
  top_p_->setValue(0.95);
  top_p_->setToolTip(tr("Nucleus sampling mass; 1 = off (--top-p)"));
  seed_ = new QSpinBox();
  seed_->setRange(0, 2147483647);
  seed_->setValue(42);
  seed_->setToolTip(tr("Random seed, saved with every report (--seed)"));
  chat_ = new QCheckBox(tr("Chat template"));
  chat_->setChecked(true);
  chat_->setToolTip(tr("Wrap the prompt in the model's chat template"));
  system_ = new QLineEdit();
  system_->setPlaceholderText(tr("System prompt (chat template only)"));
  system_->setToolTip(tr("System message placed before the prompt when the chat template is on"));
  parse_special_ = new QCheckBox(tr("Parse special tokens in the prompt"));
  parse_special_->setChecked(false);
  parse_special_->setToolTip(
      tr("Off: control-token spellings such as <|im_start|> in the prompt or system prompt stay text, so a pasted "
         "document cannot forge a turn; the chat template's own tokens are parsed either way. On: they become "
         "control tokens, as Hugging Face tokenizers and fluxscope-cli do by default"));
  connect(parse_special_, &QCheckBox::toggled, this, &RunControls::tokenizationChanged);
  connect(chat_, &QCheckBox::toggled, system_, &QWidget::setEnabled);
  connect(chat_, &QCheckBox::toggled, this, &RunControls::tokenizationChanged);
  connect(system_, &QLineEdit::textChanged, this, &RunControls::tokenizationChanged);
  repeat_ = new QSpinBox();
  repeat_->setRange(1, 100);
  repeat_->setPrefix(tr("repeat ×"));
  repeat_->setToolTip(
      tr("Run the same configuration N times; the history keeps them as one entry with the median "
         "and min–max (Run → Repeat…)"));
  context_ = new QSpinBox();
  context_->setRange(0, 1 << 22);
  context_->setSingleStep(1024);
  context_->setPrefix(tr("ctx "));
  context_->setSpecialValueText(tr("ctx model"));
  context_->setToolTip(
      tr("Context size in tokens (0 = the model's own); changing it reloads the model, the prompt "
         "and the run history stay"));
  threads_ = new QSpinBox();
  threads_->setRange(0, 1024);
  threads_->setPrefix(tr("threads "));
  threads_->setSpecialValueText(tr("threads all"));
  threads_->setToolTip(
      tr("CPU threads (0 = all cores); changing it reloads the model, the prompt and the run "
         "history stay"));
  for (QSpinBox* box : {context_, threads_}) {
    box->setKeyboardTracking(false);  // one reload when the edit is done, not one per digit typed
    connect(box, &QSpinBox::valueChanged, this, &RunControls::loadSettingsChanged);
  }

  max_tokens_->setPrefix(tr("max new "));
  temperature_->setPrefix(tr("temp "));
  top_k_->setPrefix(tr("top-k "));
  top_p_->setPrefix(tr("top-p "));
  seed_->setPrefix(tr("seed "));
  auto* first = new QHBoxLayout();
  first->setContentsMargins(0, 0, 0, 0);
  for (QWidget* w : std::initializer_list<QWidget*>{max_tokens_, temperature_, top_k_, top_p_, seed_})
    first->addWidget(w);
  first->addStretch();
  auto* second = new QHBoxLayout();
  second->setContentsMargins(0, 0, 0, 0);
  second->addWidget(chat_);
  second->addWidget(system_, 1);
  second->addWidget(parse_special_);
  second->addWidget(context_);
  second->addWidget(threads_);
  second->addWidget(repeat_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(first);
  layout->addLayout(second);
}

engine::RunSettings RunControls::settings() const {
  engine::RunSettings s;
  s.chat = chat_->isChecked();
  s.system_prompt = system_->text().toStdString();
  s.parse_special = parse_special_->isChecked();
  s.max_new_tokens = max_tokens_->value();
  s.sampler.temperature = float(temperature_->value());
  s.sampler.top_k = top_k_->value();
  s.sampler.top_p = float(top_p_->value());
  s.sampler.seed = static_cast<uint64_t>(seed_->value());
  return s;
}

void RunControls::setSettings(const engine::RunSettings& s) {
  chat_->setChecked(s.chat);
  system_->setText(QString::fromStdString(s.system_prompt));
  parse_special_->setChecked(s.parse_special);
  max_tokens_->setValue(s.max_new_tokens);
  temperature_->setValue(double(s.sampler.temperature));
  top_k_->setValue(s.sampler.top_k);
  top_p_->setValue(double(s.sampler.top_p));
  seed_->setValue(int(s.sampler.seed));
}

void RunControls::save() const {
  QSettings q;
  q.beginGroup(QStringLiteral("run"));
  q.setValue(QStringLiteral("max_new_tokens"), max_tokens_->value());
  q.setValue(QStringLiteral("temperature"), temperature_->value());
  q.setValue(QStringLiteral("top_k"), top_k_->value());
  q.setValue(QStringLiteral("top_p"), top_p_->value());
  q.setValue(QStringLiteral("seed"), seed_->value());
  q.setValue(QStringLiteral("chat"), chat_->isChecked());
  q.setValue(QStringLiteral("system_prompt"), system_->text());
  q.setValue(QStringLiteral("parse_special"), parse_special_->isChecked());
  q.setValue(QStringLiteral("repeat"), repeat_->value());
  q.setValue(QStringLiteral("context"), context_->value());
  q.setValue(QStringLiteral("threads"), threads_->value());
}

void RunControls::restore() {
  QSettings q;
  q.beginGroup(QStringLiteral("run"));
  max_tokens_->setValue(q.value(QStringLiteral("max_new_tokens"), max_tokens_->value()).toInt());
  temperature_->setValue(q.value(QStringLiteral("temperature"), temperature_->value()).toDouble());
  top_k_->setValue(q.value(QStringLiteral("top_k"), top_k_->value()).toInt());
  top_p_->setValue(q.value(QStringLiteral("top_p"), top_p_->value()).toDouble());
  seed_->setValue(q.value(QStringLiteral("seed"), seed_->value()).toInt());
  chat_->setChecked(q.value(QStringLiteral("chat"), chat_->isChecked()).toBool());
  system_->setText(q.value(QStringLiteral("system_prompt"), system_->text()).toString());
  parse_special_->setChecked(q.value(QStringLiteral("parse_special"), parse_special_->isChecked()).toBool());
  repeat_->setValue(q.value(QStringLiteral("repeat"), repeat_->value()).toInt());
  // No model is loaded yet at restore: nothing to reload.
  const QSignalBlocker block_context(context_);
  const QSignalBlocker block_threads(threads_);
  context_->setValue(q.value(QStringLiteral("context"), context_->value()).toInt());
  threads_->setValue(q.value(QStringLiteral("threads"), threads_->value()).toInt());
}

}  // namespace flux::ui
