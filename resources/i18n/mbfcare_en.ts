<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US" sourcelanguage="vi_VN">
<context>
    <name>App</name>
    <message>
        <location filename="../../mbfcare/ui/app.py" line="49"/>
        <source>Không mở được cơ sở dữ liệu</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="85"/>
        <source>Làm &amp;mới</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="89"/>
        <source>Đọc lại dữ liệu từ cơ sở dữ liệu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="92"/>
        <source>&amp;Thoát</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="95"/>
        <source>Đóng MBF Care</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="98"/>
        <source>&amp;Giới thiệu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="108"/>
        <source>&amp;Tệp</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="112"/>
        <source>Trợ &amp;giúp</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="119"/>
        <source>Đang đọc dữ liệu…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="143"/>
        <source>Chào mừng đến với MBF Care</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="149"/>
        <source>Cơ sở dữ liệu chưa có chương trình chăm sóc khách hàng nào.
Tạo chương trình theo văn bản CSKH 2017 của MobiFone KV5 (2 nhóm, 4 đợt) để bắt đầu, hoặc tạo từ tệp TOML bằng lệnh mbfcare programme create --config TỆP.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="162"/>
        <source>Tạo chương trình theo văn bản (CSKH 2017 – KV5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="174"/>
        <source>CSDL: {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="195"/>
        <source>Chưa có chương trình</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="205"/>
        <source>Thuê bao đã lưu: {count}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="218"/>
        <source>{name} ({year})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="220"/>
        <source>{n} chương trình</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="241"/>
        <source>Năm:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="242"/>
        <source>Khu vực:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="244"/>
        <source>Địa bàn:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="245"/>
        <source>{n} tỉnh/thành: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="251"/>
        <source>Mức cước căn cứ:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="252"/>
        <source>Nhóm:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="254"/>
        <source>Đợt {number} – {month}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="257"/>
        <source>Đợt (tháng chăm sóc):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="262"/>
        <source>mỗi chu kỳ cước n-3, n-4, n-5 đều đạt ngưỡng (lấy mức thấp nhất)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="264"/>
        <source>trung bình các chu kỳ cước n-3, n-4, n-5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="287"/>
        <source>Không đọc được dữ liệu.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="301"/>
        <source>Đã tạo chương trình số {id}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="307"/>
        <source>Không tạo được chương trình</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="317"/>
        <source>Giới thiệu MBF Care</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="319"/>
        <source>MBF Care {version}

Quản lý chương trình chăm sóc khách hàng và trao quà tặng của MobiFone (Khu vực 5).

Cơ sở dữ liệu: {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="329"/>
        <source>Lỗi không mong đợi: {error}. Hãy báo cho bộ phận IT.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
