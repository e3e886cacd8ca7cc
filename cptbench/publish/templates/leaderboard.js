(function(){"use strict";
function key(row,i,num){var c=row.cells[i];if(!num)return c.textContent.trim().toLowerCase();
var v=c.getAttribute("data-value");return v===null||v===""?null:parseFloat(v);}
document.querySelectorAll("table.board th[data-type]").forEach(function(th){th.tabIndex=0;
function sort(){var table=th.closest("table"),i=th.cellIndex,num=th.getAttribute("data-type")==="num";
var now=th.getAttribute("aria-sort"),asc=now?now!=="ascending":th.getAttribute("data-higher")!=="1";
var groups=Array.prototype.filter.call(table.tBodies,function(g){return g.rows.length>0;});groups.sort(function(a,b){var x=key(a.rows[0],i,num),y=key(b.rows[0],i,num);
if(x===y)return 0;if(x===null)return 1;if(y===null)return -1;return(x<y?-1:1)*(asc?1:-1);});
table.querySelectorAll("th[aria-sort]").forEach(function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",asc?"ascending":"descending");groups.forEach(function(g){table.appendChild(g);});}
th.addEventListener("click",sort);th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort();}});});
})();
