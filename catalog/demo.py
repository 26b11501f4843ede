"""Catalog demo data, the catalog's part of `manage.py seed_demo` (R7–R10, R17.1).

About 200 realistic catalog entries of the demo departments with their data items, in every sharing type
and every workflow state, filed and moved through the workflow by the real services (so audit events,
versions, review clocks, responsibility lists and search vectors are what production would have), plus a
few demand items and catalog update cases. Idempotent: an entry is keyed by (provider, name), demands by
(department, needed data), update cases by their entry; running it again adds only what is missing.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from portal.choices import Role
from portal.demo import ensure_account
from portal.models import Department, User, UserRole
from portal.services import org
from portal.services.workdays import local_today

from .choices import EntryState, ExchangeMethod, FormatClass, OpenType, ShareType, UpdateTrigger
from .models import ENTRY_FIELDS, ITEM_FIELDS, CatalogEntry, CatalogUpdateCase, Classification, DemandItem
from .services.demands import demand_item_save, demand_item_submit
from .services.entries import (
    catalog_entry_approve,
    catalog_entry_county_pass,
    catalog_entry_return,
    catalog_entry_save,
    catalog_entry_sign_off,
    catalog_entry_submit,
)
from .services.update_cases import update_case_open, update_case_save, update_case_submit

# One block per department (short name); per resource: "- 名称 | 更新周期", "  = 摘要", "  + 信息项、…".
# An item ending in * is the subject key (主体标识); in # a base data item (基础信息项, R12.1: only in the
# authoritative source of the base database). A summary saying 不予共享 makes the entry 不予共享.
RESOURCES = """
# 市公安局
- 户籍人口信息 | daily
  = 全市常住户籍人口的身份与户籍登记信息，人口基础库的权威来源
  + 公民身份号码*#、姓名#、性别#、民族#、出生日期#、出生地#、户籍地址#、户号、与户主关系、婚姻状况
  + 文化程度、登记日期
- 居民身份证办理信息 | daily
  = 居民身份证申领、换领、补领的受理与制证信息
  + 公民身份号码*、姓名、受理类型、受理日期、受理单位、签发机关、有效期起始日期、有效期截止日期
  + 制证状态
- 流动人口居住登记信息 | daily
  = 流动人口居住登记与居住证办理信息
  + 公民身份号码*、姓名、户籍地址、现居住地址、居住事由、登记日期、居住证编号、居住证有效期截止日期
- 机动车登记信息 | daily
  = 本市登记机动车的注册、转移、变更、抵押和注销登记信息
  + 号牌号码*、号牌种类、车辆识别代号、车辆品牌、车辆类型、使用性质、所有人姓名、所有人证件号码
  + 初次登记日期、检验有效期止、机动车状态
- 机动车驾驶证信息 | daily
  = 本市核发的机动车驾驶证信息
  + 公民身份号码*、姓名、驾驶证档案编号、准驾车型、初次领证日期、有效期截止日期、累积记分
  + 驾驶证状态
- 道路交通违法信息 | realtime
  = 道路交通安全违法行为的处理信息
  + 决定书编号*、号牌号码、当事人姓名、当事人证件号码、违法时间、违法地点、违法行为、罚款金额、记分
  + 处理状态
- 出入境证件办理信息 | daily
  = 普通护照、往来港澳台通行证的办理信息
  + 公民身份号码*、姓名、证件类型、证件号码、签发日期、有效期截止日期、受理单位
- 无犯罪记录证明开具信息 | daily
  = 为个人开具无犯罪记录证明的办理记录
  + 公民身份号码*、姓名、证明编号、开具日期、用途、开具单位
- 户口迁移信息 | daily
  = 户口迁入、迁出登记信息
  + 公民身份号码*、姓名、迁移类型、迁出地址、迁入地址、迁移原因、办理日期
- 涉案人员信息 | realtime
  = 刑事案件涉案人员信息，依法不予共享
  + 公民身份号码*、姓名、案件编号、涉案类别、立案日期、办案单位
- 犬只登记信息 | monthly
  = 城市养犬登记与年检信息
  + 登记证号*、犬主姓名、犬主证件号码、犬只品种、免疫日期、登记日期
- 旅馆业治安管理信息 | monthly
  = 旅馆业特种行业许可及住宿登记汇总信息
  + 许可证号*、旅馆名称、统一社会信用代码、地址、客房数、发证日期
# 市市场监管局
- 企业登记信息 | realtime
  = 全市各类企业的设立、变更、注销登记信息，法人基础库的权威来源
  + 统一社会信用代码*#、企业名称#、企业类型#、法定代表人#、注册资本#、成立日期#、营业期限自
  + 营业期限至、登记机关#、住所#、经营范围、登记状态#
- 个体工商户登记信息 | realtime
  = 个体工商户注册、变更、注销登记信息
  + 统一社会信用代码*、字号名称、经营者姓名、经营者证件号码、组成形式、经营场所、经营范围、注册日期
  + 登记状态
- 农民专业合作社登记信息 | daily
  = 农民专业合作社设立、变更、注销登记信息
  + 统一社会信用代码*、合作社名称、法定代表人、成员出资总额、成立日期、住所、业务范围、登记状态
- 营业执照信息 | realtime
  = 电子营业执照的核发、变更和吊销信息
  + 统一社会信用代码*、企业名称、执照编号、核发日期、执照状态、发照机关
- 行政处罚信息 | daily
  = 市场监管领域行政处罚决定信息
  + 处罚决定书文号*、当事人名称、统一社会信用代码、违法行为类型、处罚依据、处罚内容、罚款金额
  + 处罚决定日期、公示截止日期
- 企业经营异常名录信息 | daily
  = 列入、移出经营异常名录的企业信息
  + 统一社会信用代码*、企业名称、列入经营异常名录原因、列入日期、作出决定机关、移出原因、移出日期
- 食品经营许可信息 | daily
  = 食品经营许可证的核发、变更、延续、注销信息
  + 许可证编号*、经营者名称、统一社会信用代码、法定代表人、经营场所、主体业态、经营项目、发证日期
  + 有效期截止日期
- 特种设备登记信息 | monthly
  = 锅炉、压力容器、电梯等特种设备使用登记信息
  + 设备注册代码*、设备类别、设备品种、使用单位名称、统一社会信用代码、设备使用地点、登记日期
  + 下次检验日期、设备状态
- 产品质量监督抽查信息 | monthly
  = 产品质量监督抽查结果信息
  + 抽查编号*、产品名称、规格型号、生产单位名称、被抽查单位名称、抽查日期、检验结论、不合格项目
- 商标质押登记信息 | monthly
  = 注册商标专用权质押登记信息
  + 登记编号*、出质人名称、质权人名称、商标注册号、质押期限起始日期、质押期限截止日期、登记日期
- 药品经营许可信息 | monthly
  = 药品零售、批发企业经营许可信息
  + 许可证编号*、企业名称、统一社会信用代码、经营方式、经营范围、注册地址、发证日期、有效期截止日期
- 计量器具强制检定信息 | monthly
  = 强制检定计量器具的检定结果信息
  + 检定证书编号*、器具名称、使用单位名称、检定日期、检定结论、有效期截止日期
# 市民政局
- 婚姻登记信息 | daily
  = 结婚登记、离婚登记、补发婚姻登记证信息
  + 登记证字号*、登记类型、男方公民身份号码、男方姓名、女方公民身份号码、女方姓名、登记日期
  + 登记机关
- 城乡低保对象信息 | monthly
  = 城乡居民最低生活保障对象及保障金发放信息
  + 公民身份号码*、姓名、户籍地址、保障类别、家庭人口数、月保障金额、纳入保障日期、发放状态
- 特困人员供养信息 | monthly
  = 特困人员认定及供养信息
  + 公民身份号码*、姓名、供养方式、供养机构名称、认定日期、月供养金额、供养状态
- 社会组织登记信息 | monthly
  = 社会团体、民办非企业单位、基金会登记信息
  + 统一社会信用代码*、社会组织名称、社会组织类型、法定代表人、业务主管单位、注册资金、成立日期
  + 住所、登记状态
- 殡葬服务信息 | daily
  = 遗体火化与殡葬服务记录
  + 公民身份号码*、姓名、死亡日期、火化日期、殡仪馆名称、火化证明编号
- 残疾人两项补贴发放信息 | monthly
  = 困难残疾人生活补贴和重度残疾人护理补贴发放信息
  + 公民身份号码*、姓名、残疾类别、残疾等级、补贴类型、月补贴金额、发放年月
- 养老机构信息 | quarterly
  = 全市养老机构备案及床位信息
  + 统一社会信用代码*、机构名称、机构性质、床位数、入住老人数、机构地址、备案日期
- 地名信息 | yearly
  = 标准地名及门牌信息
  + 地名代码*、标准名称、地名类别、所在行政区划、经度、纬度、批准日期
- 临时救助信息 | monthly
  = 困难群众临时救助审批与发放信息
  + 公民身份号码*、姓名、救助类型、救助金额、审批日期
- 孤儿和事实无人抚养儿童信息 | monthly
  = 孤儿、事实无人抚养儿童认定与基本生活费发放信息，涉及未成年人隐私不予共享
  + 公民身份号码*、姓名、认定类别、监护人姓名、月发放金额
# 市自然资源局
- 不动产登记信息 | realtime
  = 国有建设用地使用权、房屋所有权等不动产权利登记信息
  + 不动产单元号*#、不动产权证书号#、权利人#、权利人证件号码#、共有情况、坐落#、权利类型#、权利性质
  + 用途#、面积#、使用期限、登记日期#
- 不动产抵押登记信息 | realtime
  = 不动产抵押权设立、变更、注销登记信息
  + 不动产登记证明号*、不动产单元号、抵押人、抵押权人、被担保主债权数额、债务履行期限起始日期
  + 债务履行期限截止日期、登记日期
- 不动产查封登记信息 | realtime
  = 司法机关查封、解封不动产的登记信息
  + 不动产单元号*、查封机关、查封文号、查封类型、查封起始日期、查封截止日期、解封日期
- 建设用地规划许可信息 | monthly
  = 建设用地规划许可证核发信息
  + 许可证编号*、用地单位、项目名称、用地位置、用地面积、用地性质、发证日期
- 建设工程规划许可信息 | monthly
  = 建设工程规划许可证核发信息
  + 许可证编号*、建设单位、项目名称、建设位置、建设规模、发证日期
- 土地供应信息 | monthly
  = 国有建设用地招拍挂及划拨供应信息
  + 电子监管号*、项目名称、土地坐落、供地面积、土地用途、供地方式、成交价格、签订日期
- 矿业权信息 | quarterly
  = 采矿权、探矿权登记信息
  + 许可证号*、矿业权人、矿山名称、开采矿种、矿区面积、有效期起始日期、有效期截止日期
- 基础测绘成果目录信息 | yearly
  = 基础测绘成果的目录及提供使用信息，涉及秘密的成果不予共享
  + 成果编号*、成果名称、比例尺、成果类型、生产日期、密级
- 国土空间规划信息 | yearly
  = 国土空间总体规划和详细规划成果目录信息
  + 规划编号*、规划名称、规划层级、批复文号、批复日期
- 耕地保护信息 | yearly
  = 永久基本农田和耕地保护图斑信息
  + 图斑编号*、所在乡镇、地类名称、图斑面积、是否永久基本农田
# 市人社局
- 社保参保信息 | monthly
  = 企业职工基本养老、失业、工伤保险参保登记信息
  + 公民身份号码*、姓名、参保单位名称、单位统一社会信用代码、险种类型、参保状态、参保日期、缴费基数
- 城乡居民养老保险参保信息 | monthly
  = 城乡居民基本养老保险参保与缴费信息
  + 公民身份号码*、姓名、户籍地址、缴费档次、缴费年度、参保状态、待遇领取状态
- 养老金发放信息 | monthly
  = 企业退休人员基本养老金发放信息
  + 公民身份号码*、姓名、退休日期、月养老金金额、发放年月、发放状态
- 失业登记信息 | monthly
  = 失业人员登记及失业保险金领取信息
  + 公民身份号码*、姓名、失业登记日期、失业原因、失业保险金月领取金额、领取起始日期、领取截止日期
- 就业登记信息 | monthly
  = 城镇就业登记与用工备案信息
  + 公民身份号码*、姓名、用人单位名称、统一社会信用代码、就业形式、登记日期
- 职业资格证书信息 | monthly
  = 职业资格及职业技能等级证书信息
  + 证书编号*、公民身份号码、姓名、职业名称、等级、发证日期、发证机构
- 劳动人事争议仲裁信息 | monthly
  = 劳动人事争议仲裁案件受理与结案信息
  + 案件编号*、申请人姓名、被申请人名称、争议类型、受理日期、结案日期、结案方式
- 社会保障卡信息 | daily
  = 社会保障卡发放与应用状态信息
  + 公民身份号码*、姓名、社会保障卡号、发卡日期、卡状态、发卡银行
- 工伤认定信息 | monthly
  = 工伤认定申请与认定结论信息
  + 认定决定书编号*、公民身份号码、姓名、用人单位名称、受伤日期、认定结论
- 技工院校学生信息 | yearly
  = 技工院校在校学生学籍信息
  + 学籍号*、公民身份号码、姓名、学校名称、专业、入学日期
# 市卫健委
- 出生医学证明信息 | daily
  = 出生医学证明签发信息
  + 出生医学证明编号*、新生儿姓名、性别、出生日期、出生地点、母亲公民身份号码、母亲姓名
  + 父亲公民身份号码、父亲姓名、签发日期、签发机构
- 死亡医学证明信息 | daily
  = 居民死亡医学证明（推断）书信息
  + 证明编号*、公民身份号码、姓名、死亡日期、死亡地点、根本死亡原因、签发机构
- 医疗机构执业登记信息 | monthly
  = 医疗机构执业许可登记信息
  + 登记号*、机构名称、统一社会信用代码、法定代表人、机构类别、诊疗科目、床位数、地址
  + 有效期截止日期
- 医师执业注册信息 | monthly
  = 医师执业注册信息
  + 执业证书编码*、公民身份号码、姓名、执业类别、执业范围、执业地点、注册日期
- 预防接种信息 | daily
  = 儿童预防接种记录
  + 受种者编码*、受种者姓名、出生日期、疫苗名称、接种剂次、接种日期、接种单位
- 居民电子健康档案信息 | daily
  = 居民电子健康档案，涉及个人隐私，依法不予共享
  + 健康档案编号*、公民身份号码、姓名、建档日期、管理机构、慢性病类别
- 计划生育家庭特别扶助信息 | yearly
  = 计划生育特别扶助对象及扶助金发放信息
  + 公民身份号码*、姓名、扶助类别、月扶助金额、发放年月
- 护士执业注册信息 | monthly
  = 护士执业注册信息
  + 执业证书编号*、公民身份号码、姓名、执业地点、注册日期、有效期截止日期
- 公共场所卫生许可信息 | monthly
  = 公共场所卫生许可证核发信息
  + 许可证号*、单位名称、统一社会信用代码、经营项目、地址、发证日期
- 母婴保健技术服务许可信息 | yearly
  = 母婴保健技术服务执业许可信息
  + 许可证号*、机构名称、许可项目、发证日期、有效期截止日期
# 市医保局
- 医保参保信息 | monthly
  = 职工医保与城乡居民医保参保登记信息
  + 公民身份号码*、姓名、参保类型、参保单位名称、参保状态、参保日期、缴费基数
- 医保结算信息 | realtime
  = 定点医药机构医疗费用结算信息
  + 结算编号*、公民身份号码、姓名、定点机构名称、就诊类型、医疗费用总额、统筹基金支付金额
  + 个人支付金额、结算时间
- 定点医药机构信息 | monthly
  = 医保定点医疗机构和零售药店信息
  + 定点机构编码*、机构名称、统一社会信用代码、机构类型、机构等级、地址、协议起始日期、协议截止日期
- 医疗救助信息 | monthly
  = 困难群众医疗救助信息
  + 公民身份号码*、姓名、救助类别、救助金额、救助日期
- 门诊慢特病认定信息 | monthly
  = 门诊慢性病、特殊疾病认定信息
  + 公民身份号码*、姓名、病种名称、认定日期、有效期截止日期、认定机构
- 医保药品目录信息 | quarterly
  = 基本医疗保险药品目录及支付标准信息
  + 药品编码*、药品名称、剂型、医保类别、支付标准、执行日期
- 长期护理保险待遇信息 | monthly
  = 长期护理保险失能评估与待遇享受信息
  + 公民身份号码*、姓名、失能等级、护理方式、待遇起始日期
# 市公积金中心
- 住房公积金缴存信息 | monthly
  = 单位和个人住房公积金缴存信息
  + 公民身份号码*、姓名、个人账号、单位名称、单位统一社会信用代码、缴存基数、月缴存额、账户状态
  + 缴至年月
- 住房公积金贷款信息 | monthly
  = 住房公积金个人住房贷款发放与还款信息
  + 借款合同编号*、借款人公民身份号码、借款人姓名、贷款金额、贷款期限、放款日期、贷款余额、还款状态
- 住房公积金提取信息 | daily
  = 住房公积金提取业务信息
  + 业务流水号*、公民身份号码、姓名、提取原因、提取金额、提取日期
- 住房公积金缴存单位信息 | monthly
  = 住房公积金缴存单位登记信息
  + 单位账号*、单位名称、统一社会信用代码、单位性质、缴存人数、开户日期、账户状态
- 住房公积金个人缴存证明信息 | daily
  = 住房公积金个人缴存证明开具信息
  + 证明编号*、公民身份号码、姓名、单位名称、开具日期
# 市教育局
- 中小学学籍信息 | monthly
  = 全市中小学在校学生学籍信息
  + 全国学籍号*、公民身份号码、姓名、性别、出生日期、学校名称、年级、班级、入学日期、学籍状态
- 学校基本信息 | yearly
  = 各级各类学校的办学基本信息
  + 学校标识码*、学校名称、统一社会信用代码、办学类型、举办者类型、校长姓名、学校地址、在校生人数
  + 教职工人数
- 教师资格证书信息 | monthly
  = 教师资格认定及证书信息
  + 证书编号*、公民身份号码、姓名、资格种类、任教学科、认定日期、认定机构
- 学生资助信息 | quarterly
  = 家庭经济困难学生资助发放信息
  + 全国学籍号*、姓名、资助项目、资助金额、发放日期、学校名称
- 中考成绩信息 | yearly
  = 初中学业水平考试成绩信息，依法不予共享
  + 考生号*、姓名、公民身份号码、总成绩、考试年度
- 民办学校办学许可信息 | yearly
  = 民办学校办学许可证信息
  + 许可证编号*、学校名称、举办者、办学地址、办学内容、发证日期、有效期截止日期
- 义务教育招生入学信息 | yearly
  = 义务教育阶段新生入学登记信息
  + 报名编号*、学生姓名、公民身份号码、监护人姓名、户籍地址、录取学校
- 校外培训机构信息 | quarterly
  = 校外培训机构办学许可信息
  + 许可证编号*、机构名称、统一社会信用代码、培训类别、办学地址、发证日期
# 市住建局
- 商品房预售许可信息 | monthly
  = 商品房预售许可证核发信息
  + 预售许可证号*、项目名称、开发企业名称、统一社会信用代码、预售面积、预售套数、坐落、发证日期
- 商品房网签备案信息 | realtime
  = 新建商品房买卖合同网签备案信息
  + 合同备案号*、房屋坐落、买受人姓名、买受人证件号码、建筑面积、合同金额、备案日期
- 建筑业企业资质信息 | monthly
  = 建筑业企业资质证书信息
  + 资质证书编号*、企业名称、统一社会信用代码、资质类别及等级、发证日期、有效期截止日期
- 建筑工程施工许可信息 | monthly
  = 建筑工程施工许可证核发信息
  + 施工许可证编号*、项目名称、建设单位、施工单位、建设地址、合同价格、建筑面积、发证日期
- 公租房保障信息 | monthly
  = 公共租赁住房申请、配租信息
  + 公民身份号码*、姓名、家庭人口数、保障方式、配租房源地址、配租日期、月租金
- 住宅专项维修资金信息 | monthly
  = 住宅专项维修资金交存与使用信息
  + 房屋编号*、房屋坐落、业主姓名、交存金额、交存日期、账户余额
- 物业服务企业信息 | quarterly
  = 物业服务企业备案及项目信息
  + 统一社会信用代码*、企业名称、法定代表人、在管项目数、在管面积、备案日期
- 房屋建筑和市政工程竣工验收备案信息 | monthly
  = 房屋建筑和市政基础设施工程竣工验收备案信息
  + 备案编号*、工程名称、建设单位、施工单位、建筑面积、备案日期
- 城镇老旧小区改造信息 | quarterly
  = 城镇老旧小区改造项目信息
  + 项目编号*、小区名称、所在街道、改造户数、改造内容、计划投资
# 市交通局
- 道路运输经营许可信息 | monthly
  = 道路旅客、货物运输经营许可信息
  + 经营许可证号*、业户名称、统一社会信用代码、经营范围、发证日期、有效期截止日期
- 营运车辆信息 | daily
  = 道路运输营运车辆及道路运输证信息
  + 道路运输证号*、车牌号码、业户名称、车辆类型、核定载质量、核定载客人数、发证日期、有效期截止日期
- 从业资格证信息 | monthly
  = 道路运输从业人员从业资格证信息
  + 从业资格证号*、公民身份号码、姓名、从业资格类别、发证日期、有效期截止日期
- 网约车驾驶员证信息 | monthly
  = 网络预约出租汽车驾驶员证信息
  + 证件号*、公民身份号码、姓名、发证日期、有效期截止日期、所属平台
- 公路路网信息 | yearly
  = 全市公路路线及桥梁基础信息
  + 路线编码*、路线名称、技术等级、路线长度、起点桩号、止点桩号、养护单位
- 出租汽车经营许可信息 | monthly
  = 巡游出租汽车经营许可信息
  + 经营许可证号*、企业名称、统一社会信用代码、车辆数、发证日期
- 公交线路信息 | quarterly
  = 城市公交线路及站点信息
  + 线路编号*、线路名称、起点站、终点站、站点数、首班时间、末班时间
- 超限运输车辆许可信息 | daily
  = 公路超限运输车辆行驶许可信息
  + 许可编号*、承运人名称、车牌号码、货物名称、通行路线、许可日期
# 市发改委
- 固定资产投资项目信息 | daily
  = 固定资产投资项目审批、核准、备案信息
  + 项目代码*、项目名称、项目单位、统一社会信用代码、建设地点、总投资金额、审批类型、审批日期
- 重点项目建设进度信息 | monthly
  = 市重点建设项目的进度信息
  + 项目代码*、项目名称、年度计划投资、累计完成投资、形象进度、报送日期
- 政府定价目录信息 | yearly
  = 政府定价及政府指导价目录信息
  + 定价项目编号*、定价项目名称、定价内容、定价部门、执行日期
- 信用红黑名单信息 | daily
  = 守信激励与失信惩戒对象名单信息
  + 统一社会信用代码*、主体名称、名单类型、列入原因、认定部门、列入日期、有效期截止日期
- 粮食储备信息 | monthly
  = 地方储备粮库存信息，涉及储备安全，不予共享
  + 储备库编码*、储备库名称、粮食品种、库存数量、统计日期
- 价格监测信息 | weekly
  = 重要民生商品价格监测信息
  + 监测品种编码*、品种名称、规格等级、监测价格、监测日期
# 市生态环境局
- 排污许可信息 | monthly
  = 排污单位排污许可证核发信息
  + 许可证编号*、单位名称、统一社会信用代码、行业类别、生产经营场所地址、主要污染物类别、发证日期
  + 有效期截止日期
- 环境影响评价审批信息 | monthly
  = 建设项目环境影响评价文件审批信息
  + 审批文号*、项目名称、建设单位、建设地点、环评类别、审批日期
- 空气质量监测信息 | realtime
  = 空气质量自动监测站小时监测数据
  + 监测站点编码*、监测站点名称、监测时间、二氧化硫浓度、二氧化氮浓度、可吸入颗粒物浓度
  + 细颗粒物浓度、臭氧浓度、空气质量指数
- 重点排污单位自动监测信息 | realtime
  = 重点排污单位污染物排放在线监测数据
  + 排放口编码*、单位名称、监测时间、污染物名称、排放浓度、排放量、是否超标
- 环境行政处罚信息 | monthly
  = 生态环境领域行政处罚信息
  + 处罚决定书文号*、当事人名称、统一社会信用代码、违法事实、处罚内容、罚款金额、处罚日期
- 地表水水质监测信息 | realtime
  = 地表水断面水质自动监测信息
  + 断面编码*、断面名称、监测时间、水质类别、化学需氧量、氨氮浓度
- 危险废物经营许可信息 | yearly
  = 危险废物经营许可证信息
  + 许可证编号*、单位名称、统一社会信用代码、经营方式、核准经营规模、有效期截止日期
# 市农业农村局
- 农村土地承包经营权信息 | yearly
  = 农村土地承包经营权确权登记信息
  + 承包合同编号*、承包方代表姓名、承包方代表证件号码、承包地块数、承包面积、承包期限起始日期
  + 承包期限截止日期
- 家庭农场信息 | quarterly
  = 家庭农场名录信息
  + 统一社会信用代码*、家庭农场名称、经营者姓名、经营类型、经营面积、所在乡镇
- 农药经营许可信息 | monthly
  = 农药经营许可证信息
  + 许可证编号*、经营者名称、统一社会信用代码、经营范围、经营地址、发证日期、有效期截止日期
- 动物防疫条件合格证信息 | monthly
  = 动物防疫条件合格证核发信息
  + 证书编号*、单位名称、统一社会信用代码、经营范围、地址、发证日期
- 耕地地力保护补贴信息 | yearly
  = 耕地地力保护补贴发放信息
  + 公民身份号码*、姓名、补贴面积、补贴金额、发放日期、所在村组
- 农机购置补贴信息 | monthly
  = 农机购置与应用补贴发放信息
  + 公民身份号码*、购机者姓名、机具品目、补贴金额、发放日期
- 兽药经营许可信息 | yearly
  = 兽药经营许可证信息
  + 许可证编号*、企业名称、统一社会信用代码、经营范围、发证日期
# 市水利局
- 取水许可信息 | yearly
  = 取水许可证核发信息
  + 取水许可证编号*、取水权人名称、统一社会信用代码、取水地点、水源类型、年取水量、有效期截止日期
- 水库基本信息 | yearly
  = 全市水库工程基础信息
  + 水库代码*、水库名称、所在位置、总库容、兴利库容、工程规模、主管单位
- 雨水情监测信息 | realtime
  = 雨量站、水位站实时监测信息
  + 测站编码*、测站名称、监测时间、降雨量、水位、流量
- 河湖长信息 | quarterly
  = 河长制湖长制河湖长名录信息
  + 河湖编码*、河湖名称、河湖长姓名、河湖长职务、河湖长级别、所属区域
- 水土保持方案审批信息 | monthly
  = 生产建设项目水土保持方案审批信息
  + 审批文号*、项目名称、建设单位、防治责任范围面积、审批日期
- 河道采砂许可信息 | quarterly
  = 河道采砂许可证信息
  + 许可证号*、采砂人、采砂地点、开采量、许可起始日期、许可截止日期
# 市商务局
- 对外贸易经营者备案信息 | monthly
  = 对外贸易经营者备案登记信息
  + 备案登记表编号*、经营者名称、统一社会信用代码、经营者类型、备案日期
- 外商投资企业信息 | monthly
  = 外商投资企业设立及变更备案信息
  + 统一社会信用代码*、企业名称、投资者国别、投资总额、注册资本、备案日期
- 单用途商业预付卡备案信息 | quarterly
  = 单用途商业预付卡发卡企业备案信息
  + 备案编号*、企业名称、统一社会信用代码、发卡类型、备案日期
- 再生资源回收经营者备案信息 | quarterly
  = 再生资源回收经营者备案信息
  + 备案编号*、经营者名称、统一社会信用代码、经营场所、备案日期
- 成品油零售经营许可信息 | yearly
  = 成品油零售经营批准证书信息
  + 证书编号*、加油站名称、统一社会信用代码、经营地址、发证日期
# 市文广旅局
- 旅行社信息 | monthly
  = 旅行社经营许可信息
  + 许可证编号*、旅行社名称、统一社会信用代码、法定代表人、经营范围、经营场所、许可日期
- A级旅游景区信息 | yearly
  = A级旅游景区名录信息
  + 景区编码*、景区名称、景区等级、所在地址、评定日期、年接待游客人数
- 文物保护单位信息 | yearly
  = 各级文物保护单位名录信息
  + 文物编号*、文物名称、保护级别、所在地址、年代、公布日期
- 娱乐场所经营许可信息 | monthly
  = 娱乐场所经营许可证信息
  + 许可证编号*、场所名称、统一社会信用代码、经营地址、经营项目、发证日期
- 星级饭店信息 | yearly
  = 星级旅游饭店名录信息
  + 饭店编码*、饭店名称、星级、客房数、地址、评定日期
- 网吧经营许可信息 | monthly
  = 互联网上网服务营业场所经营许可信息
  + 许可证编号*、场所名称、统一社会信用代码、计算机台数、地址、发证日期
# 市退役军人局
- 退役军人信息 | monthly
  = 退役军人基础信息采集登记信息
  + 公民身份号码*、姓名、入伍日期、退役日期、退役方式、安置方式、户籍地址
- 优抚对象信息 | monthly
  = 重点优抚对象及抚恤补助发放信息
  + 公民身份号码*、姓名、优抚类别、抚恤补助标准、发放年月
- 烈士褒扬信息 | yearly
  = 烈士及烈士遗属信息，涉及国家秘密的部分不予共享
  + 烈士证明书编号*、烈士姓名、牺牲日期、批准机关、遗属姓名
# 市应急局
- 安全生产许可信息 | monthly
  = 危险化学品、非煤矿山等安全生产许可信息
  + 许可证编号*、企业名称、统一社会信用代码、许可范围、发证日期、有效期截止日期
- 危险化学品经营许可信息 | monthly
  = 危险化学品经营许可证信息
  + 许可证编号*、企业名称、统一社会信用代码、经营方式、许可范围、发证日期、有效期截止日期
- 应急救援队伍信息 | quarterly
  = 各类应急救援队伍及装备信息
  + 队伍编码*、队伍名称、队伍类型、人数、主要装备、所在地址、联系电话
- 自然灾害灾情信息 | realtime
  = 自然灾害灾情统计报送信息
  + 灾情编号*、灾害种类、发生时间、受灾区域、受灾人口数、直接经济损失、报送日期
- 安全生产行政处罚信息 | monthly
  = 安全生产领域行政处罚信息
  + 处罚决定书文号*、当事人名称、统一社会信用代码、违法事实、处罚内容、罚款金额、处罚日期
- 重大危险源信息 | quarterly
  = 危险化学品重大危险源备案信息
  + 危险源编码*、企业名称、统一社会信用代码、危险源等级、备案日期
# 市司法局
- 律师执业信息 | monthly
  = 律师执业证及执业机构信息
  + 执业证号*、公民身份号码、姓名、执业机构、执业类别、发证日期
- 律师事务所信息 | monthly
  = 律师事务所执业许可信息
  + 统一社会信用代码*、律师事务所名称、负责人、组织形式、执业人数、住所
- 公证书信息 | daily
  = 公证机构出具的公证书信息
  + 公证书编号*、公证事项、申请人姓名、申请人证件号码、出证日期、公证机构
- 社区矫正对象信息 | daily
  = 社区矫正对象管理信息，依法不予共享
  + 公民身份号码*、姓名、矫正类别、矫正起始日期、矫正截止日期、执行地
- 法律援助案件信息 | monthly
  = 法律援助申请与案件办理信息
  + 案件编号*、受援人姓名、受援人证件号码、案件类型、受理日期、结案日期
- 人民调解案件信息 | monthly
  = 人民调解委员会调解案件信息
  + 案件编号*、纠纷类型、受理日期、调解结果、调解组织
# 市财政局
- 政府采购合同信息 | daily
  = 政府采购合同公告信息
  + 合同编号*、采购项目名称、采购人、供应商名称、统一社会信用代码、合同金额、签订日期
- 预算单位信息 | yearly
  = 全市预算单位基础信息
  + 预算单位编码*、单位名称、统一社会信用代码、单位性质、主管部门、编制人数
- 惠民惠农补贴发放信息 | monthly
  = 惠民惠农财政补贴资金一卡通发放信息
  + 公民身份号码*、姓名、补贴项目、补贴金额、发放日期、发放银行
- 非税收入票据信息 | daily
  = 非税收入电子票据开具信息
  + 票据号码*、执收单位、缴款人、收费项目、金额、开票日期
- 行政事业单位国有资产信息 | yearly
  = 行政事业单位国有资产年报信息
  + 资产卡片编号*、单位名称、资产名称、资产类别、原值、取得日期
- 政府债务信息 | quarterly
  = 政府债务限额及余额信息，涉及财政安全不予共享
  + 债务编号*、债务类型、债务余额、到期日期
# 市统计局
- 统计调查单位名录信息 | yearly
  = 基本单位名录库信息
  + 统一社会信用代码*、单位详细名称、行业代码、单位规模、从业人员数、营业收入、所在区划
- 国民经济主要指标信息 | monthly
  = 全市国民经济主要统计指标
  + 指标代码*、指标名称、统计期、指标值、计量单位、发布日期
- 人口抽样调查汇总信息 | yearly
  = 人口变动抽样调查汇总数据
  + 汇总编号*、调查年度、区域代码、常住人口数、出生人数、死亡人数
- 居民收支调查信息 | quarterly
  = 城乡居民收支抽样调查汇总信息
  + 汇总编号*、调查年度、区域代码、人均可支配收入、人均消费支出
# 市工信局
- 规模以上工业企业信息 | monthly
  = 规模以上工业企业名录及主要经济指标
  + 统一社会信用代码*、企业名称、行业类别、工业总产值、营业收入、利润总额、从业人员数、统计年月
- 中小企业公共服务机构信息 | yearly
  = 中小企业公共服务示范平台信息
  + 机构编码*、机构名称、统一社会信用代码、服务类别、认定日期
- 企业技术中心信息 | yearly
  = 市级以上企业技术中心认定信息
  + 统一社会信用代码*、企业名称、技术中心级别、认定日期、研发投入
- 专精特新中小企业信息 | yearly
  = 专精特新中小企业认定信息
  + 统一社会信用代码*、企业名称、认定级别、主导产品、认定日期
# 市科技局
- 高新技术企业信息 | yearly
  = 高新技术企业认定信息
  + 证书编号*、企业名称、统一社会信用代码、技术领域、认定日期、有效期截止日期
- 科技型中小企业信息 | yearly
  = 科技型中小企业评价入库信息
  + 入库登记编号*、企业名称、统一社会信用代码、评价年度、研发人员数
- 科技计划项目信息 | quarterly
  = 市级科技计划项目立项与验收信息
  + 项目编号*、项目名称、承担单位、项目负责人、资助金额、立项日期、验收日期
- 技术合同登记信息 | monthly
  = 技术合同认定登记信息
  + 登记编号*、合同名称、卖方名称、买方名称、成交金额、登记日期
# 市城管局
- 城市管理案件信息 | realtime
  = 数字化城市管理案件受理与处置信息
  + 案件编号*、问题类型、发生地址、上报时间、处置部门、处置结果、结案时间
- 户外广告设置许可信息 | monthly
  = 户外广告设施设置许可信息
  + 许可编号*、设置单位、统一社会信用代码、设置地点、广告规格、许可日期、有效期截止日期
- 城市道路挖掘许可信息 | monthly
  = 城市道路挖掘占用许可信息
  + 许可编号*、申请单位、挖掘地点、挖掘面积、许可起始日期、许可截止日期
- 建筑垃圾处置许可信息 | monthly
  = 城市建筑垃圾处置核准信息
  + 核准编号*、申请单位、处置地点、处置量、核准日期
- 燃气经营许可信息 | yearly
  = 燃气经营许可证信息
  + 许可证编号*、企业名称、统一社会信用代码、经营区域、发证日期、有效期截止日期
# 市审计局
- 审计项目信息 | quarterly
  = 审计项目计划及审计结果信息
  + 审计项目编号*、项目名称、被审计单位、审计类型、审计起始日期、审计截止日期、发现问题金额
- 审计整改信息 | quarterly
  = 审计发现问题整改落实信息，涉及工作秘密不予共享
  + 问题编号*、审计项目编号、被审计单位、问题类型、整改状态、整改截止日期
# 市大数据局
- 政务服务事项目录信息 | monthly
  = 全市政务服务事项实施清单信息
  + 事项编码*、事项名称、事项类型、实施主体、办理时限、收费标准、设定依据
- 政务服务办件信息 | realtime
  = 政务服务事项受理、办结信息
  + 办件编号*、事项编码、事项名称、申请人名称、申请人证件号码、受理时间、办结时间、办理结果
- 好差评信息 | daily
  = 政务服务好差评评价信息
  + 评价编号*、办件编号、评价等级、评价渠道、评价时间、整改状态
- 电子证照目录信息 | daily
  = 全市电子证照类型目录及签发信息，电子证照库的目录来源
  + 证照类型代码*、证照名称、颁发部门、持证主体类型、已签发数量、更新日期
- 12345热线工单信息 | realtime
  = 12345政务服务便民热线工单信息
  + 工单编号*、来电时间、诉求类型、诉求内容、承办单位、办结时间、满意度
- 政务数据共享调用统计信息 | monthly
  = 各部门通过平台调用共享数据的统计信息
  + 统计编号*、调用部门、资源代码、调用次数、统计月份
- 电子印章信息 | monthly
  = 政务电子印章制发与备案信息
  + 印章编码*、印章名称、用章单位、制发日期、印章状态
# 市中院
- 失信被执行人信息 | daily
  = 人民法院失信被执行人名单信息
  + 案号*、被执行人名称、证件号码、执行法院、立案日期、失信行为情形、发布日期
- 限制高消费人员信息 | daily
  = 人民法院限制消费令信息
  + 案号*、被限制人名称、证件号码、执行法院、发布日期
- 裁判文书公开信息 | daily
  = 依法公开的裁判文书信息
  + 案号*、案件名称、案件类型、审理法院、裁判日期、文书类型
- 执行案件信息 | daily
  = 执行案件立案与结案信息
  + 案号*、申请执行人、被执行人名称、执行标的金额、立案日期、结案日期
# 市检察院
- 公益诉讼案件信息 | monthly
  = 检察公益诉讼案件办理信息
  + 案件编号*、案件名称、领域类别、立案日期、诉前检察建议日期、办理结果
- 行贿犯罪档案查询信息 | daily
  = 行贿犯罪档案查询结果信息，依法不予共享
  + 查询编号*、被查询对象名称、证件号码、查询日期、查询结果
# 市总工会
- 困难职工帮扶信息 | quarterly
  = 困难职工建档及帮扶救助信息
  + 公民身份号码*、姓名、工作单位、困难类型、帮扶金额、帮扶日期
- 工会会员信息 | monthly
  = 基层工会会员实名制信息
  + 会员编号*、公民身份号码、姓名、所在工会、入会日期
# 修武县公安局
- 修武县户籍人口变动信息 | daily
  = 修武县户籍人口出生、死亡、迁入、迁出变动信息
  + 公民身份号码*、姓名、变动类型、变动日期、派出所名称
- 修武县流动人口信息 | daily
  = 修武县流动人口居住登记信息
  + 公民身份号码*、姓名、户籍地址、现居住地址、登记日期
- 修武县机动车违法信息 | realtime
  = 修武县辖区道路交通违法信息
  + 决定书编号*、号牌号码、违法时间、违法地点、违法行为、罚款金额
- 修武县居民身份证办理信息 | daily
  = 修武县居民身份证受理与制证信息
  + 公民身份号码*、姓名、受理类型、受理日期、制证状态
# 修武县民政局
- 修武县低保对象信息 | monthly
  = 修武县城乡低保对象信息
  + 公民身份号码*、姓名、保障类别、家庭人口数、月保障金额、纳入保障日期
- 修武县婚姻登记信息 | daily
  = 修武县婚姻登记处登记信息
  + 登记证字号*、登记类型、男方公民身份号码、男方姓名、女方公民身份号码、女方姓名、登记日期
- 修武县养老服务信息 | quarterly
  = 修武县养老机构及居家养老服务信息
  + 统一社会信用代码*、机构名称、床位数、入住老人数、地址
# 修武县大数据局
- 修武县政务服务办件信息 | realtime
  = 修武县政务服务中心办件信息
  + 办件编号*、事项名称、申请人名称、受理时间、办结时间、办理结果
# 沁阳市市场监管局
- 沁阳市市场主体登记信息 | realtime
  = 沁阳市市场主体登记信息
  + 统一社会信用代码*、主体名称、主体类型、法定代表人、注册资本、成立日期、住所、登记状态
- 沁阳市食品生产许可信息 | monthly
  = 沁阳市食品生产许可证信息
  + 许可证编号*、生产者名称、统一社会信用代码、食品类别、发证日期、有效期截止日期
- 沁阳市行政处罚信息 | daily
  = 沁阳市市场监管行政处罚信息
  + 处罚决定书文号*、当事人名称、统一社会信用代码、违法行为类型、罚款金额、处罚决定日期
- 沁阳市特种设备信息 | monthly
  = 沁阳市特种设备使用登记信息
  + 设备注册代码*、设备类别、使用单位名称、登记日期、下次检验日期
# 沁阳市大数据局
- 沁阳市政务服务办件信息 | realtime
  = 沁阳市政务服务中心办件信息
  + 办件编号*、事项名称、申请人名称、受理时间、办结时间、办理结果
"""

# Department short name -> the account prefix of its demo data staff / head (pinyin initials).
ACCOUNT_PREFIX = {
    "市大数据局": "dsj", "市发改委": "fgw", "市教育局": "jy", "市科技局": "kj", "市工信局": "gx",
    "市公安局": "ga", "市民政局": "mz", "市司法局": "sf", "市财政局": "cz", "市人社局": "rs",
    "市自然资源局": "zr", "市生态环境局": "sthj", "市住建局": "zj", "市城管局": "cg", "市交通局": "jt",
    "市水利局": "sl", "市农业农村局": "nync", "市商务局": "sw", "市文广旅局": "wgl", "市卫健委": "wj",
    "市退役军人局": "tyjr", "市应急局": "yj", "市审计局": "shj", "市市场监管局": "sj", "市统计局": "tj",
    "市医保局": "yb", "市公积金中心": "gjj", "市中院": "zy", "市检察院": "jcy", "市总工会": "zgh",
    "修武县大数据局": "xw_dsj", "修武县公安局": "xw_ga", "修武县民政局": "xw_mz", "沁阳市大数据局": "qy_dsj",
    "沁阳市市场监管局": "qy_sj",
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "霞", "平"]

# Target state by an entry's position in its department's list: the first (usually the department's key
# resource) is published; the rest spread over every state of R8.2.
CITY_STATES = [
    EntryState.APPROVED, EntryState.APPROVED, EntryState.BUREAU_REVIEW, EntryState.APPROVED, EntryState.DRAFT,
    EntryState.SIGNOFF, EntryState.APPROVED, EntryState.RETURNED, EntryState.APPROVED, EntryState.DRAFT,
    EntryState.APPROVED, EntryState.BUREAU_REVIEW,
]
COUNTY_STATES = [
    EntryState.APPROVED, EntryState.COUNTY_REVIEW, EntryState.RETURNED, EntryState.COUNTY_REVIEW, EntryState.DRAFT,
]

# Sub-themes of 主题信息资源 (classification 2xx) by keywords of the resource name.
THEMES = [
    ("202", ("医", "卫生", "接种", "健康", "护士", "母婴", "出生医学", "死亡医学")),
    ("203", ("社保", "养老", "失业", "低保", "救助", "特困", "补贴", "优抚", "残疾", "公积金", "工伤", "就业")),
    ("204", ("食品", "药品")),
    ("205", ("安全生产", "危险", "特种设备")),
    ("206", ("价格", "定价")),
    ("208", ("失信", "信用", "限制高消费", "异常名录")),
    ("209", ("建筑", "规划", "商品房", "物业", "老旧小区", "维修资金", "公租房", "燃气")),
    ("211", ("排污", "环境", "空气", "水质", "危险废物", "水土保持")),
    ("212", ("应急", "灾情", "重大危险源")),
]
OPEN_WORDS = (
    "景区", "空气质量", "水质", "公交线路", "价格监测", "政府定价", "地名", "文物", "星级饭店", "政务服务事项",
    "国民经济", "药品目录", "旅行社", "A级",
)
DB_TYPES = ["MySQL", "Oracle", "达梦DM8", "KingbaseES", "PostgreSQL"]
NO_SHARE_BASIS = [
    (("隐私", "未成年人", "健康档案"),
     "《中华人民共和国个人信息保护法》第二十八条、第三十一条：敏感个人信息和未成年人个人信息未经法定程序不得向其他部门提供"),
    (("涉案", "矫正", "行贿"),
     "《中华人民共和国刑事诉讼法》《社区矫正法》：侦查、刑事执行过程中的个人信息依法不得对外提供"),
    (("秘密", "安全", "储备"),
     "《中华人民共和国保守国家秘密法》第二十八条及本部门定密文件：涉及国家秘密和工作秘密的信息不予共享"),
    ((), "《中华人民共和国个人信息保护法》第三十四条：国家机关处理个人信息不得超出履行法定职责所必需的范围和限度"),
]
# (department, needed data, item names, purpose, legal basis, provider short name or None, submit?)
DEMANDS = [
    ("市人社局", "居民死亡信息", ["死亡日期", "火化日期"],
     "养老保险待遇领取资格认证，及时停发死亡人员养老金",
     "《中华人民共和国社会保险法》第十六条；人社部关于做好养老保险待遇领取资格认证工作的通知", "市卫健委", True),
    ("市民政局", "居民家庭房产与车辆信息", ["不动产单元号", "号牌号码"], "城乡低保、特困供养家庭经济状况核对",
     "《社会救助暂行办法》第十一条、第六十条", None, True),
    ("市教育局", "居民个人存款信息", ["存款账号", "存款余额"], "家庭经济困难学生认定中的家庭经济状况核查",
     "《学生资助资金管理办法》第五条", None, True),
    ("市住建局", "个人住房公积金缴存信息", ["个人账号", "缴存基数", "月缴存额"], "公共租赁住房申请家庭收入核查",
     "《公共租赁住房管理办法》第七条", "市公积金中心", False),
]
# (department, resource name, trigger, days before today, document, item to add, submit?)
UPDATE_CASES = [
    ("市公安局", "户籍人口信息", UpdateTrigger.LAW_AMENDED, 2,
     "《中华人民共和国户口登记条例》配套规范修订（公安部令第165号）", "曾用名", False),
    ("市市场监管局", "企业登记信息", UpdateTrigger.DUTIES_CHANGED, 3,
     "《焦作市市场监督管理局职能配置、内设机构和人员编制规定》（2025年）", "实缴资本", True),
]


@dataclass
class Resource:
    department: str
    name: str
    cycle: str
    summary: str = ""
    items: list[tuple[str, bool, bool]] = field(default_factory=list)  # (name, subject key, base item)


def parse_resources(text: str = RESOURCES) -> list[Resource]:
    """The resource table above as objects, in order."""
    out: list[Resource] = []
    department = ""
    for line in text.splitlines():
        if line.startswith("# "):
            department = line[2:].strip()
        elif line.startswith("- "):
            name, cycle = (part.strip() for part in line[2:].split("|"))
            out.append(Resource(department, name, cycle))
        elif line.startswith("  = "):
            out[-1].summary += line[4:].strip()
        elif line.startswith("  + "):
            for raw in line[4:].split("、"):
                raw = raw.strip()
                out[-1].items.append((raw.rstrip("*#"), "*" in raw, "#" in raw))
    return out


_FIXED_TYPES = {
    "公民身份号码": ("C", 18), "统一社会信用代码": ("C", 18), "姓名": ("C", 50), "性别": ("C", 2), "民族": ("C", 20),
    "号牌号码": ("C", 10), "车牌号码": ("C", 10), "车辆识别代号": ("C", 17), "不动产单元号": ("C", 28),
    "全国学籍号": ("C", 19), "社会保障卡号": ("C", 20), "经度": ("N", 12), "纬度": ("N", 12), "年级": ("C", 10),
    "星级": ("C", 10), "满意度": ("C", 10), "评价等级": ("C", 10), "密级": ("C", 10), "比例尺": ("C", 20),
}


def item_type(name: str) -> tuple[str, int | None]:
    """A plausible (data type, length) for a data item from its name (the guide's letter codes)."""
    if name in _FIXED_TYPES:
        return _FIXED_TYPES[name]
    if name.startswith("是否"):
        return "L", 1
    if name.endswith("日期"):
        return "D", 8
    if name.endswith("时间"):
        return "T", 14
    if name.endswith(("年月", "统计期")):
        return "C", 6
    if name.endswith("年度"):
        return "C", 4
    if re.search(r"金额|资本|资金|价格|基数|缴存额|收入|支出|投资|利润|产值|余额|数额|标准|原值|罚款", name):
        return "Y", 18
    if re.search(r"数$|数量$|记分$", name):
        return "I", 10
    if re.search(r"面积|库容|水量|降雨量|水位|流量|浓度|指数|长度|载质量|规模|开采量|处置量|指标值|排放量", name):
        return "N", 16
    if re.search(r"范围|内容|事实|依据|原因|意见|结论|结果|情形|不合格项目|形象进度|设定依据", name):
        return "M", None
    if re.search(r"名称|地址|坐落|地点|住所|场所|位置|区域|路线", name):
        return "C", 200
    return "C", 50


def _classification_code(res: Resource, kind: str) -> str:
    keys = {n for n, subject, _b in res.items if subject}
    if any(base for _n, _s, base in res.items):
        if keys & {"公民身份号码"}:
            return "101"
        if keys & {"统一社会信用代码"}:
            return "102"
        return "103"
    if "不动产" in res.name or "测绘" in res.name or "国土空间" in res.name:
        return "103"
    if "电子证照" in res.name or "电子印章" in res.name:
        return "105"
    for code, words in THEMES:
        if any(w in res.name for w in words):
            return code
    return {"court": "305", "procuratorate": "306", "mass": "307", "institution": "308"}.get(kind, "303")


def _sharing(res: Resource, index: int) -> dict:
    """Sharing type, condition or basis, and exchange methods (R18.1, R19)."""
    names = {n for n, _s, _b in res.items}
    if "不予共享" in res.summary:
        basis = next(text for words, text in NO_SHARE_BASIS if not words or any(w in res.summary for w in words))
        return {"share_type": ShareType.NONE, "share_condition": "", "no_share_basis": basis, "exchange_methods": []}
    base = any(b for _n, _s, b in res.items)
    personal = bool(names & {"公民身份号码", "证件号码", "申请人证件号码", "买受人证件号码", "当事人证件号码"})
    if not base and (personal or index % 5 == 4):
        subject = res.name.removesuffix("信息")
        condition = (
            f"仅向依法承担相关审批、核查、救助或监管职责的政务部门共享，限于{subject}相关业务办理使用，"
            "按授权信息项提供，不得用于其他目的，不得向第三方提供"
        )
        methods = [ExchangeMethod.API, ExchangeMethod.QUERY]
        if res.cycle in ("realtime", "daily") and index % 3 == 0:
            methods.append(ExchangeMethod.PUSH)
        return {"share_type": ShareType.CONDITIONAL, "share_condition": condition, "no_share_basis": "",
                "exchange_methods": methods}
    methods = [ExchangeMethod.API, ExchangeMethod.QUERY, ExchangeMethod.DOWNLOAD]
    if base or res.cycle == "realtime":
        methods.append(ExchangeMethod.PUSH)
    return {"share_type": ShareType.UNCONDITIONAL, "share_condition": "", "no_share_basis": "",
            "exchange_methods": methods}


def _format(res: Resource, index: int) -> tuple[str, str]:
    if res.cycle == "realtime" and index % 2 == 0:
        return FormatClass.API, "REST"
    if res.cycle in ("yearly", "quarterly") and index % 2 == 1:
        return FormatClass.SHEET, "xlsx"
    return FormatClass.DB, DB_TYPES[index % len(DB_TYPES)]


def entry_payload(res: Resource, index: int, classification: Classification, kind: str) -> tuple[dict, list[dict]]:
    """(values, items) for catalog_entry_save from one resource of the table."""
    sharing = _sharing(res, index)
    open_type, open_condition = OpenType.CLOSED, ""
    if sharing["share_type"] == ShareType.UNCONDITIONAL and any(w in res.name for w in OPEN_WORDS):
        open_type = OpenType.OPEN
    elif sharing["share_type"] == ShareType.UNCONDITIONAL and "许可" in res.name and index % 3 == 0:
        open_type, open_condition = OpenType.CONDITIONAL, "仅向社会开放许可证号、单位名称、许可范围和有效期等公示信息"
    format_class, format_type = _format(res, index)
    values = {
        "classification": classification, "name": res.name, "summary": res.summary,
        "format_class": format_class, "format_type": format_type, "open_type": open_type,
        "open_condition": open_condition, "update_cycle": res.cycle, "related_codes": [], "is_secret": False,
        **sharing,
    }
    items = []
    for name, subject, base in res.items:
        data_type, length = item_type(name)
        items.append({
            "name": name, "data_type": data_type, "length": length, "is_subject_key": subject,
            "is_base_item": base, "description": "主体标识" if subject else "",
        })
    return values, items


# --------------------------------------------------------------------------------------------------
# Accounts


def _person_name(n: int) -> str:
    return SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[(n * 11) % len(GIVEN)]


def _ensure_user(admin: User, username: str, department: Department, role: str, serial: int) -> User:
    # The system administrator creates the account, the security administrator grants its role (三员分立).
    return ensure_account(username, _person_name(serial), department, (role,))


def ensure_accounts(admin: User) -> dict[int, tuple[User, User]]:
    """Department id -> (filer, head) for every demo department, creating the missing heads.

    The filer is the department's data staff where the kernel's accounts have one, else its head (heads
    may file too: portal.choices.STAFF_ROLES). Only heads are created: every account costs a password hash
    (~0.3 s of PBKDF2), and the staff/head split is already shown by the kernel's 公安/市场监管 accounts.
    """
    by_short = {d.short_name: d for d in Department.objects.filter(short_name__in=ACCOUNT_PREFIX)}
    accounts: dict[int, tuple[User, User]] = {}
    for serial, (short, prefix) in enumerate(ACCOUNT_PREFIX.items()):
        dept = by_short.get(short)
        if dept is None:
            continue
        head = _existing_member(dept, Role.DEPT_HEAD) or _ensure_user(admin, f"{prefix}_head", dept, Role.DEPT_HEAD,
                                                                     serial)
        if dept.head_id is None:
            org.department_set_head(actor=admin, department=dept, head=head)
        accounts[dept.pk] = (_existing_member(dept, Role.DEPT_STAFF) or head, head)
    # 沁阳市 has a county bureau department but no pre-reviewer among the kernel's accounts.
    qy = by_short.get("沁阳市大数据局")
    if qy is not None and not UserRole.objects.filter(user__department=qy, role=Role.COUNTY_BUREAU).exists():
        _ensure_user(admin, "qy_bureau", qy, Role.COUNTY_BUREAU, 99)
    return accounts


def _existing_member(dept: Department, role: str) -> User | None:
    member = User.objects.filter(department=dept, roles__role=role, is_active=True).order_by("pk").first()
    return User.objects.get(pk=member.pk) if member else None


def _county_bureau(region_id: int) -> User | None:
    user = (
        User.objects.filter(department__region_id=region_id, roles__role=Role.COUNTY_BUREAU, is_active=True)
        .order_by("pk").first()
    )
    return User.objects.get(pk=user.pk) if user else None


# --------------------------------------------------------------------------------------------------
# Entries through the workflow


def _walk(entry: CatalogEntry, target: str, staff: User, head: User, reviewer: User, county: User | None) -> None:
    """Move a fresh draft to `target` with the services a person would use at each step."""
    if target == EntryState.DRAFT:
        return
    catalog_entry_submit(actor=staff, entry_id=entry.pk, comment="请审核签发")
    if target == EntryState.SIGNOFF:
        return
    catalog_entry_sign_off(actor=head, entry_id=entry.pk, comment="同意报送")
    is_county = not entry.provider.region.is_city
    if is_county:
        if target == EntryState.COUNTY_REVIEW:
            return
        if target == EntryState.RETURNED:
            catalog_entry_return(
                actor=county, entry_id=entry.pk, comment="部分信息项未填写数据长度，请补充后重新报送"
            )
            return
        catalog_entry_county_pass(actor=county, entry_id=entry.pk, comment="初审通过，报市局审核")
    if target == EntryState.BUREAU_REVIEW:
        return
    if target == EntryState.RETURNED:
        catalog_entry_return(
            actor=reviewer, entry_id=entry.pk,
            comment="共享条件表述过于笼统，请写明可共享的部门范围、信息项和使用用途后重新报送",
        )
        return
    catalog_entry_approve(actor=reviewer, entry_id=entry.pk, comment="审核通过，予以发布")


def seed(stdout) -> None:
    """Create the catalog demo data that is missing (runs after the kernel's organisations and accounts)."""
    started = time.monotonic()
    admin = User.objects.get(username="admin")
    reviewer = User.objects.filter(username="reviewer").first() or User.objects.filter(
        roles__role=Role.BUREAU_REVIEWER).order_by("pk").first()
    reviewer = User.objects.get(pk=reviewer.pk)
    with transaction.atomic():
        accounts = ensure_accounts(admin)
    classifications = {c.code: c for c in Classification.objects.all()}
    departments = {d.short_name: d for d in Department.objects.select_related("region")}
    existing = set(CatalogEntry.objects.values_list("provider_id", "name"))
    county_users: dict[int, User | None] = {}
    position: Counter[str] = Counter()
    created = 0
    for index, res in enumerate(parse_resources()):
        dept = departments.get(res.department)
        pos = position[res.department]
        position[res.department] += 1
        if dept is None or dept.pk not in accounts or (dept.pk, res.name) in existing:
            continue
        staff, head = accounts[dept.pk]
        is_county = not dept.region.is_city
        states = COUNTY_STATES if is_county else CITY_STATES
        target = states[pos % len(states)]
        if is_county and dept.region_id not in county_users:
            county_users[dept.region_id] = _county_bureau(dept.region_id)
        county = county_users.get(dept.region_id)
        if is_county and county is None and target in (EntryState.APPROVED, EntryState.RETURNED):
            target = EntryState.COUNTY_REVIEW
        values, items = entry_payload(res, index, classifications[_classification_code(res, dept.kind)], dept.kind)
        with transaction.atomic():
            entry = catalog_entry_save(actor=staff, department=dept, values=values, items=items)
            _walk(entry, target, staff, head, reviewer, county)
        created += 1
    demands = _seed_demands(accounts, departments)
    cases = _seed_update_cases(accounts, departments)
    counts = Counter(CatalogEntry.objects.values_list("state", flat=True))
    shares = Counter(CatalogEntry.objects.values_list("share_type", flat=True))
    seconds = time.monotonic() - started
    stdout.write(
        f"数据目录演示数据：新增 {created} 条目录、{demands} 条需求、{cases} 件目录更新申请（{seconds:.1f} 秒）；"
        f"现有目录 {sum(counts.values())} 条"
    )
    stdout.write("  按状态：" + "，".join(f"{EntryState(s).label} {n}" for s, n in sorted(counts.items())))
    stdout.write("  按共享类型：" + "，".join(f"{ShareType(s).label} {n}" for s, n in sorted(shares.items())))


def _seed_demands(accounts, departments) -> int:
    made = 0
    for dept_short, needed, names, purpose, basis, provider_short, submit in DEMANDS:
        dept = departments.get(dept_short)
        if dept is None or dept.pk not in accounts:
            continue
        if DemandItem.objects.filter(department=dept, needed_data=needed).exists():
            continue
        staff = accounts[dept.pk][0]
        with transaction.atomic():
            demand = demand_item_save(
                actor=staff, department=dept,
                values={"needed_data": needed, "item_names": names, "purpose": purpose, "legal_basis": basis,
                        "provider": departments.get(provider_short) if provider_short else None},
            )
            if submit:
                demand_item_submit(actor=staff, demand_id=demand.pk)
        made += 1
    return made


def _seed_update_cases(accounts, departments) -> int:
    made = 0
    today = local_today()
    for dept_short, name, trigger, days_ago, document, new_item, submit in UPDATE_CASES:
        dept = departments.get(dept_short)
        entry = CatalogEntry.objects.filter(provider=dept, name=name, state=EntryState.APPROVED).first()
        if entry is None or dept.pk not in accounts or CatalogUpdateCase.objects.filter(entry=entry).exists():
            continue
        staff = accounts[dept.pk][0]
        with transaction.atomic():
            case = update_case_open(
                actor=staff, entry_id=entry.pk, trigger_kind=trigger, trigger_date=today - dt.timedelta(days=days_ago),
                trigger_document=document, trigger_description=f"依据新规定，需在目录中增加信息项「{new_item}」",
            )
            values = {name: getattr(entry, name) for name in ENTRY_FIELDS}
            items = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in entry.items.order_by("position")]
            data_type, length = item_type(new_item)
            items.append({"name": new_item, "data_type": data_type, "length": length, "is_subject_key": False,
                          "is_base_item": False, "description": "依据新规定增加"})
            update_case_save(actor=staff, case_id=case.pk, values=values, items=items)
            if submit:
                update_case_submit(actor=staff, case_id=case.pk)
        made += 1
    return made
