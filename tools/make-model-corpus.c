/* make-model-corpus.c — the word list palilens-make-model trains its BPE
 * merges on: common English words in rough order of frequency, then the
 * vocabulary of image captions, questions, OCR and PaliGemma's task
 * prompts (task words and language codes).  Earlier words count as more
 * frequent (a Zipf weight by rank, make-model-tokenizer.c), so frequent
 * words become single pieces and rare ones split into plausible parts.
 * Prompt words also start texts ("caption en", "detect cat"), so their
 * forms without a leading space count as much as the spaced ones. */
#include "make-model.h"

static const MakeCorpusPart corpus_text[] = {
    /* function words and the most common English words */
    { "the of and to a in is that for it was on with as he be by at you are "
      "his this from or had not but have an they which one were all her she "
      "there would their we him been has when who will more no if out so said "
      "what up its about into than them can only other new some could time "
      "these two may then do first any my now such like our over man me even "
      "most made after also did many before must through back years where "
      "much your way well down should because each just those people how too "
      "little state good very make world still own see men work long get here "
      "between both life being under never day same another know while last "
      "might us great old year off come since against go came right used take "
      "three states himself few house use during without again place american "
      "around however home small found thought went say part once general high "
      "upon school every does got united left number course war until always "
      "away something fact though water less public put think almost hand "
      "enough far took head yet government system better set told nothing "
      "night end why called didn eyes find going look asked later knew point "
      "next program city business give group toward young days let room "
      "president side social given present several order national possible "
      "rather second face per among form important often things looked early "
      "white case john become large big need four within felt along children "
      "saw best church ever least power development light thing seemed family "
      "interest want members mind country area others done turned although "
      "open god service certain kind problem began different door thus help "
      "sense means whole matter perhaps itself york times law human line above "
      "name example action company hands local show whether five history gave "
      "today either act feet across taken past quite anything seen having "
      "death week experience body word half really field am car words already "
      "themselves information tell college shall money period held keep sure "
      "real probably free seems political cannot behind miss question air "
      "office making brought whose special major heard problems ago became "
      "federal study available known result street economic boy position "
      "reason change south board individual job areas society west close turn "
      "love community true court force full seem am front wife future age "
      "voice center woman control common necessary policy following girl low "
      "book black red blue green yellow orange purple pink brown gray grey "
      "dark bright colorful",
      false },
    /* what images show */
    { "image picture photo photograph view scene background foreground top "
      "bottom left right middle center corner edge near next behind front "
      "inside outside above below between sitting standing walking running "
      "holding wearing looking lying playing eating riding flying swimming "
      "person people man woman men women boy girl child children baby kid "
      "kids player players crowd group team family friends couple face hair "
      "hand hands arm arms leg legs head eye eyes mouth nose ear smile "
      "shirt jacket coat dress hat cap helmet glasses shoes boots pants jeans "
      "suit tie bag backpack umbrella watch phone camera laptop computer "
      "screen keyboard mouse remote television book books paper sign signs "
      "text letters logo label menu poster banner clock cup mug glass bottle "
      "plate bowl fork knife spoon table chair chairs couch sofa bed desk "
      "shelf window windows door doors wall walls floor ceiling lamp light "
      "lights kitchen room bathroom bedroom office building buildings house "
      "houses tower bridge road street streets sidewalk path highway traffic "
      "car cars truck bus train plane airplane boat ship bicycle bike "
      "motorcycle vehicle vehicles wheel wheels parking station airport city "
      "town village park garden yard field farm beach ocean sea lake river "
      "water waves sand rock rocks mountain mountains hill hills forest tree "
      "trees grass flower flowers plant plants leaves leaf snow ice rain sky "
      "cloud clouds sun sunset sunrise night day morning evening shadow "
      "animal animals dog dogs cat cats horse horses cow cows sheep bird "
      "birds duck fish elephant giraffe zebra bear lion tiger monkey rabbit "
      "mouse frog snake butterfly insect food pizza sandwich cake bread fruit "
      "fruits apple apples banana bananas orange oranges vegetables broccoli "
      "carrot carrots salad meat cheese coffee tea drink wine beer milk "
      "chocolate donut hot dog ball frisbee kite skateboard surfboard skis "
      "racket bat glove tennis baseball soccer football basketball game sport "
      "sports astronaut space suit rocket flag flags statue art painting "
      "drawing design pattern shape shapes circle square triangle rectangle "
      "line lines number numbers digit digits word words sentence title "
      "object objects item items thing things part parts piece pieces side "
      "sides small large big tall short long wide narrow round flat empty "
      "full open closed old new young modern wooden metal plastic glass "
      "white black red blue green yellow brown striped",
      false },
    /* prompts, answers, detection and segmentation */
    { "caption describe answer question detect segment ocr what where who "
      "which how many much color colour is are there this that these those "
      "the a an in on of with and or yes no one two three four five six seven "
      "eight nine ten zero first second third image shows showing shown "
      "depicts contains containing located count counting describe describing "
      "description short detailed brief en fr de es it pt nl ru zh ja ko ar "
      "hi bn ta th vi id ms tr pl cs uk el he fa sv no da fi hu ro bg hr sr "
      "sk sl lt lv et sw fil mi",
      true },
    /* French, Spanish, German: common words for the multilingual prompts */
    { "le la les un une des et est dans sur avec pour pas que qui image "
      "photo homme femme chat chien voiture rue maison arbre ciel el los las "
      "del con por para una hombre mujer gato perro coche casa calle cielo "
      "der die das und ist ein eine mit auf dem den von zu bild foto mann "
      "frau katze hund auto haus baum himmel strasse",
      false },
    /* numbers and units as they appear in text */
    { "0 1 2 3 4 5 6 7 8 9 10 11 12 15 20 24 25 30 50 100 1000 2020 2021 "
      "2022 2023 2024 km kg cm mm am pm mph usd eur",
      false },
};

const MakeCorpusPart *make_model_corpus(size_t *n_parts)
{
    *n_parts = sizeof(corpus_text) / sizeof(corpus_text[0]);
    return corpus_text;
}
