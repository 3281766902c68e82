"""Turn the raw bytes of a source file into text, whatever legacy Chinese encoding it uses.

Order of trust: a byte-order mark, then UTF-16 without one (told by where its NUL bytes
are), then strict UTF-8, then a charset the file declares (HTML ``<meta charset>``, an
XML declaration, a front-matter ``charset:``/``encoding:`` key), then a guess between
GB18030 and Big5 scored by how much of the decoded text is common Chinese characters.
"""

from __future__ import annotations

import codecs
import re

from rag.errors import IngestError
from rag.text.charsets import BIG5_CODEC, CHARSET_NAME, GB_CODEC, META_CHARSET, codec_for
from rag.text.normalize import CJK_PUNCTUATION, CJK_UNIFIED, FULLWIDTH_FORMS

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_XML_ENCODING = rb"""<\?xml[^>]+encoding\s*=\s*["']"""
_FRONT_MATTER_CHARSET = rb"""^(?:charset|encoding)\s*:\s*["']?"""
_DECLARED_CHARSET = re.compile(
    b"(?:" + b"|".join((META_CHARSET, _XML_ENCODING, _FRONT_MATTER_CHARSET)) + b")" + CHARSET_NAME,
    re.IGNORECASE | re.MULTILINE,
)

# The most frequent characters of running Chinese text, simplified and traditional
# forms both. Mis-decoded bytes produce rare characters, so the share of these is a
# good score between candidate decodings.
_COMMON_HANZI = frozenset(
    "的一是不了在人有我他这個个们們中来來上大为為和国國地到以说說时時要就出会會可也你對对生能而子"
    "那得于於着著下自之年过過发發后後作里裡用道行所然家种種事成方多经經么麼去法学學如都同现現当當没"
    "沒动動面起看定天分还還进進好小部其些主样樣理心她本前开開但因只从從想实實日军軍者意无無力它与與"
    "长長把机機十民第公此已工使情明性知全三又关關点點正业業外将將两兩高间間由问問很最重并並物手应應"
    "战戰向头頭文体體政美相见見被利什二等产產或新己制製身果加西斯月话話合回特代内內信表化老给給世位"
    "次度门門任常先海通教儿兒原东東声聲提立及比员員解水名真论論处處走义義各入几幾口认認条條平系統统"
    "气氣题題活尔爾更别別打女变變四神总總何电電数數安少报報才结結反受目太量再感建务務做接必场場件计"
    "計管期市直德资資命山金指克许許区區保至队隊形社便空决決治展马馬科司五基眼书書非则則听聽白却界达"
    "達光放强強即像难難且权權思王象完设設式色路记記南品住告类類求据據程北边邊死张張该該交规規万萬取"
    "拉格望觉覺术術领領共确確传傳师師观觀清今切院让讓识識候带帶导導争爭运運笑飞飛风風步改收根干幹"
    "造言联聯持组組每济濟车車亲親极極林服快办辦议議往元英士证證近失转轉夫令准準布始怎呢存未远遠叫台"
    "单單影具罗羅字爱愛击擊流备備兵连連调調深商算质質团團集百需价價花党黨华華城石级級整府离離况況亚"
    "亞请請技际際约約示复復病息究线線似官火断斷精满滿支视視消越器容照须須九增研写寫称稱企八功吗嗎包"
    "片史委乎查轻輕易早曾除农農找装裝广廣显顯吧阿李标標谈談吃图圖念六引历歷首医醫局突专專费費号號尽"
    "盡另周较較注语語仅僅考落青随隨选選列武红紅响響虽雖推势勢参參希古众眾构構房半节節土投某案黑维維"
    "革划劃敌敵致陈陳律足态態护護七兴興派孩验驗责責营營星够夠章音跟志底站严嚴巴例防族供效续續施留讲"
    "講型料终終答紧緊黄黃绝絕奇察母京段依批群项項故按河米围圍江织織害斗鬥双雙境客纪紀采採举舉杀殺攻"
    "父苏蘇密低朝友诉訴止细細愿願千值仍男钱錢破网網热熱助倒育属屬坐帝限船脸臉职職速刻乐樂否刚剛威毛状"
    "狀率甚独獨球般普怕弹彈校苦创創假久错錯承印晚兰蘭试試股拿脑腦预預谁誰益阳陽若哪微尼继繼送急血惊驚"
    "伤傷素药藥适適波夜省初喜卫衛源食险險待述陆陸习習置居劳勞财財环環排福纳納欢歡雷警获獲模充负負云雲"
    "停木游游龙龍树樹疑层層冷洲冲衝射略范範竟句室异異激汉漢村哈策演简簡卡罪判担擔州静靜退既衣您宗积積"
    "余餘痛检檢差富灵靈协協角占配征修皮挥揮胜勝降阶階审審沉坚堅善妈媽刘劉读讀啊超免压壓银銀买買皇养養"
    "伊怀懷执執副乱亂抗犯追帮幫宣佛岁歲航优優怪香著田铁鐵控税稅左右份穿艺藝背阵陣草脚腳概恶惡块塊顿頓"
    "敢守酒岛島托央户戶烈洋哥索胡款靠评評版宝寶座释釋景顾顧弟登货貨互付伯慢欧歐换換闻聞危忙核暗姐介坏"
    "壞讨討丽麗良序升监監临臨亮露永呼味野架域沙掉括舰艦鱼魚杂雜误誤湾灣吉减減编編楚肯测測败敗屋跑梦夢"
    "散温溫困剑劍渐漸封救贵貴枪槍缺楼樓县縣尚毫移娘朋画畫班智亦耳恩短掌恐遗遺固席松秘谢謝鲁魯遇康虑慮"
    "幸均销銷钟鐘诗詩藏赶趕剧劇票损損忽巨炮旧舊端探湖录錄叶葉春乡鄉附吸予礼禮港雨呀板庭妇婦归歸睛饭飯"
    "额額含顺順输輸摇搖招婚脱脫补補谓謂督毒油疗療旅泽澤材灭滅逐莫笔筆亡鲜鮮词詞圣聖择擇寻尋厂廠睡博勒"
    "烟煙授诺諾伦倫岸奥奧唐卖賣俄炸载載洛健堂旁宫宮喝借君禁阴陰园園谋謀宋避抓荣榮姑孙孫逃牙束跳顶頂玉"
    "镇鎮雪午练練迫爷爺篇肉嘴馆館遍凡础礎洞卷坦牛宁寧纸紙诸諸训訓私庄莊祖丝絲翻暴森塔默握戏戲隐隱熟骨"
    "访訪弱蒙歌店鬼软軟典欲萨薩伙遭盘盤爸扩擴盖蓋弄雄稳穩忘亿億刺拥擁徒姆杨楊齐齊赛賽趣曲刀床迎冰虚虛"
    "玩析窗醒妻透购購替塞努休虎扬揚途侵刑绿綠兄迅套贸貿毕畢唯谷轮輪库庫迹跡尤竞競街促延震弃棄甲伟偉麻"
    "川申缓緩潜潛闪閃售灯燈针針哲络絡抵朱埃抱鼓植纯純夏忍页頁杰筑築折郑鄭贝貝尊吴吳秀混臣雅振染盛怒舞"
    "圆圓搞狂措姓残殘秋培迷诚誠宽寬宇猛摆擺梅毁毀伸摩盟末乃悲拍丁赵趙冒贴貼滑"
)

# Printable ASCII, tabs and line breaks, Chinese characters and punctuation.
_READABLE = re.compile(f"[ -~\t\n\r{CJK_UNIFIED}{CJK_PUNCTUATION}{FULLWIDTH_FORMS}]")
_CONTROL_BYTES = frozenset(range(0, 32)) - {9, 10, 12, 13, 27}


def decode_bytes(data: bytes) -> str:
    """Decode a source file to text; never returns replacement characters from a guess.

    Raises ``IngestError("binary file, not text")`` for input with NUL bytes or many
    control characters, unless they are UTF-16/32 marked by a byte-order mark or UTF-16
    without one (Windows editors save "Unicode" text that way).
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if b"\x00" in data[:8192]:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            return utf16
    if _looks_binary(data):
        raise IngestError("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _cut_mid_character(data, exc):
            # a UTF-8 file cut off inside its last character (an interrupted download):
            # its text minus that character, not the whole file guessed as GB18030
            return data[: exc.start].decode("utf-8")
    declared = _declared_charset(data)
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    return _best_guess(data)


def _cut_mid_character(data: bytes, exc: UnicodeDecodeError) -> bool:
    """True when ``data`` is valid UTF-8 up to an incomplete sequence at its very end."""
    if exc.reason != "unexpected end of data" or len(data) - exc.start > 3:
        return False
    try:
        data[: exc.start].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf16_without_bom(data: bytes) -> str | None:
    """``data`` decoded as UTF-16 saved without a byte-order mark, or None if it is not.

    In such a file the NULs are the high bytes of ASCII characters (newlines, spaces,
    markup), so they sit at every other position; binary data and a stray NUL in 8-bit
    text do not look like that, nor decode strictly into readable characters.
    """
    head = data[:8192]
    if len(data) % 2 or len(head) < 4:
        return None
    units = len(head) // 2
    nul_even, nul_odd = head[0::2].count(0), head[1::2].count(0)
    for codec, nuls, other in (("utf-16-le", nul_odd, nul_even), ("utf-16-be", nul_even, nul_odd)):
        if nuls < max(2, units // 100) or nuls < 4 * other:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        sample = text[:4096]
        readable = len(_READABLE.findall(sample))
        if readable >= 0.9 * len(sample):
            return text
    return None


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    return controls / len(head) > 0.05


def _declared_charset(data: bytes) -> str | None:
    match = _DECLARED_CHARSET.search(data[:4096])
    if not match:
        return None
    try:
        return codecs.lookup(codec_for(match.group(1).decode("ascii"))).name
    except LookupError:
        return None


def _best_guess(data: bytes) -> str:
    candidates = [GB_CODEC, BIG5_CODEC]
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
        if best is not None and best.encoding not in candidates:
            candidates.append(best.encoding)
    except ImportError:  # pragma: no cover - installed with trafilatura
        pass
    scored: list[tuple[int, float, str]] = []
    for codec in candidates:
        text = data.decode(codec, errors="replace")
        replacements = text.count("\ufffd")
        common = sum(1 for char in text if char in _COMMON_HANZI)
        scored.append((replacements == 0, common - 20 * replacements, codec))
    scored.sort(reverse=True)
    return data.decode(scored[0][2], errors="replace")
