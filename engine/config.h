/* config.h — reads a PaliGemma 2 model directory's configuration files
 * into a pali_config (model.h): config.json, the image processor's config
 * (preprocessor_config.json or processor_config.json) and, when present,
 * generation_config.json.  Absent keys take the defaults transformers
 * applies (Gemma2Config, SiglipVisionConfig, PaliGemmaConfig,
 * SiglipImageProcessor); every value is type- and range-checked. */
#ifndef PALI_CONFIG_H
#define PALI_CONFIG_H

#include "json.h"
#include "model.h"

#define PALI_CONFIG_NAME              "config.json"
#define PALI_PREPROCESSOR_CONFIG_NAME "preprocessor_config.json"
#define PALI_PROCESSOR_CONFIG_NAME    "processor_config.json"
#define PALI_GENERATION_CONFIG_NAME   "generation_config.json"

/* Loads all three files from `dir` into *cfg (zeroed first).  Errors name
 * the file and the key ("…/config.json: text_config.hidden_size: expected
 * a positive integer, got \"big\"").  Other architectures are refused with
 * PALI_ERR_UNSUPPORTED.  cfg->info.variant and .dtype point into *cfg, so
 * a pali_config must not be copied; release it with pali_config_clear. */
pali_status pali_config_load(const char *dir, pali_config *cfg,
                             pali_error *err);
void pali_config_clear(pali_config *cfg);

/* The steps of pali_config_load, for callers that hold parsed JSON.
 * `path` names the file in messages.  Processor and generation configs
 * need the model config first (image size, vocabulary). */
pali_status pali_config_parse_model(const pali_json *root, const char *path,
                                    pali_config *cfg, pali_error *err);
/* `image_processor`: the object holding the fields (the whole
 * preprocessor_config.json, or processor_config.json's "image_processor");
 * `prefix` is "" or "image_processor." for messages. */
pali_status pali_config_parse_processor(const pali_json *image_processor,
                                        const char *path, const char *prefix,
                                        pali_config *cfg, pali_error *err);
pali_status pali_config_parse_generation(const pali_json *root,
                                         const char *path, pali_config *cfg,
                                         pali_error *err);

/* The processor config (processor_config.json's "image_processor" when
 * there is one, as transformers prefers, else preprocessor_config.json; one
 * of them must exist) and generation_config.json (optional), from `dir`
 * into a cfg that already holds the model config. */
pali_status pali_config_load_processor(const char *dir, pali_config *cfg,
                                       pali_error *err);
pali_status pali_config_load_generation(const char *dir, pali_config *cfg,
                                        pali_error *err);

#endif /* PALI_CONFIG_H */
