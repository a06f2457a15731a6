#include "ui/load_error_text.h"

#include <QFileInfo>
#include <QObject>
#include <QRegularExpression>

namespace flux::ui {

QString loadErrorText(const QString& path, const QString& m) {
  const QString name = QFileInfo(path).fileName().isEmpty() ? path : QFileInfo(path).fileName();
  const auto has = [&](const char* text) { return m.contains(QLatin1String(text), Qt::CaseInsensitive); };
  if (has("backend 'cuda' is not available"))
    return QObject::tr(
        "The CUDA backend is not available: this computer has no usable NVIDIA GPU, or this copy of "
        "FluxScope was built without CUDA. Choose File → Backend → CPU (or Auto) and open the model "
        "again.");
  if (has("no such file or directory"))
    return QObject::tr(
               "“%1” does not exist any more (moved, renamed or deleted?). Choose File → Open Model… to "
               "pick it again.")
        .arg(path);
  if (has("no config.json"))
    return QObject::tr(
               "The folder “%1” is not a Hugging Face model folder: it has no config.json. Choose the folder "
               "that holds config.json, the *.safetensors files and the tokenizer files — or a .gguf file.")
        .arg(name);
  if (has("not a model (expected") || has("not a GGUF file (bad magic"))
    return QObject::tr(
               "“%1” is not a model file FluxScope can open. Choose a .gguf file, or a Hugging Face model "
               "folder (with config.json and *.safetensors files).")
        .arg(name);
  if (has("past end of file") || has("bytes remaining") || has("too small for the magic") || has("can hold") ||
      has("extends past"))
    return QObject::tr(
               "“%1” is incomplete or damaged: it ends before all of its data. The download or copy was "
               "probably cut short — download or copy it again.")
        .arg(name);
  if (has("unsupported") || has("not supported"))
    return QObject::tr("“%1” uses a format or model type FluxScope does not support yet. Details: %2").arg(name, m);
  return QObject::tr("FluxScope could not open “%1”. Details: %2").arg(name, m);
}

QString runErrorText(const QString& m) {
  static const QRegularExpression over(
      QStringLiteral("the prompt has (\\d+) tokens but the context holds (\\d+).*model's (\\d+)"));
  const QRegularExpressionMatch match = over.match(m);
  if (match.hasMatch()) {
    const int tokens = match.captured(1).toInt();
    const int context = match.captured(2).toInt();
    return QObject::tr(
               "The prompt has %1 tokens but the context holds %2. Shorten the prompt by at least %3 tokens, "
               "or raise the context size (the “ctx” box with the run settings, up to this model's %4; the "
               "model reloads).")
        .arg(tokens)
        .arg(context)
        .arg(tokens - context + 1)
        .arg(match.captured(3));
  }
  return m;
}

}  // namespace flux::ui
